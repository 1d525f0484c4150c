"""Row locks (app.repositories.locks): ascending key order, only inside a unit of work."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import utcnow
from app.repositories import SessionRepository, unit_of_work
from app.repositories.admin import StaffRepository
from app.repositories.locks import LockOutsideTransaction

from factories import SessionFactory, UserFactory


@pytest.fixture
def lock_statements(app):
    """The (table, key) of every UPDATE the test runs, in order."""
    seen: list[tuple[str, int]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE"):
            table = statement.split()[1].strip('"')
            key = parameters[-1] if isinstance(parameters, (list, tuple)) else \
                list(parameters.values())[-1]
            seen.append((table, key))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_sessions_are_locked_in_ascending_id_order_whatever_order_they_are_given(
        app, lock_statements):
    first, second, third = (SessionFactory() for _ in range(3))
    with unit_of_work():
        assert SessionRepository().lock(third.id, first.id, second.id)
    assert lock_statements == [("course_sessions", s.id) for s in (first, second, third)]


def test_locking_a_missing_session_reports_it(app):
    course_session = SessionFactory()
    with unit_of_work():
        assert SessionRepository().lock(course_session.id)
        assert not SessionRepository().lock(course_session.id, 999_999)


@pytest.mark.parametrize("take_lock", [
    lambda s, u: SessionRepository().lock(s.id),
    lambda s, u: SessionRepository().lock_and_get(s.id),
    lambda s, u: StaffRepository().lock(u.id, utcnow()),
], ids=["session", "session_and_get", "trainer"])
def test_a_lock_outside_a_unit_of_work_is_refused(app, take_lock):
    course_session, trainer = SessionFactory(), UserFactory()
    with pytest.raises(LockOutsideTransaction):
        take_lock(course_session, trainer)
