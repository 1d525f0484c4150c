"""The base repository's session helpers that services use instead of db.session."""
from __future__ import annotations

import pytest

from app.repositories import SessionRepository, unit_of_work

from factories import SessionFactory


def test_end_read_is_refused_inside_a_unit_of_work_whose_changes_it_would_discard(app):
    course_session = SessionFactory(capacity=10)
    repo = SessionRepository()
    with pytest.raises(RuntimeError), unit_of_work():
        repo.get(course_session.id).capacity = 11
        repo.end_read()
    assert repo.get_fresh(course_session.id).capacity == 10

