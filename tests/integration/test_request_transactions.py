"""How requests end their transactions: a request that only read COMMITs (so
psycopg keeps the connection's prepared statements, which a ROLLBACK throws away),
one that wrote without a unit of work is still rolled back, and a new hold's answer
is built from what the hold wrote, without reading it back."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select, text

from app.extensions import db
from app.models import Booking, Venue
from app.repositories.base import end_read_only_transaction

from factories import SessionFactory


@pytest.fixture
def app_config():
    # One connection, so the test sees the very connection the requests used.
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}}


def in_own_thread(work) -> None:
    """Run requests where no app context is pushed (the test's own is on this
    thread), so each request starts and tears down its own, as under gunicorn."""
    failures: list[BaseException] = []

    def run():
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def test_read_requests_keep_the_connections_prepared_statements(app, client, backend):
    if backend != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (psycopg)")
    SessionFactory()
    db.session.commit()

    def browse():
        for _ in range(8):  # psycopg prepares a statement on its sixth run
            assert client.get("/sessions").status_code == 200

    in_own_thread(browse)
    prepared = db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
    assert prepared > 0


def test_a_read_only_transaction_is_committed_when_the_request_ends(app):
    db.session.scalar(select(Venue.id))
    assert db.session().in_transaction()
    end_read_only_transaction()
    assert not db.session().in_transaction()


@pytest.mark.parametrize("write", ["flush", "statement"])
def test_a_transaction_that_wrote_outside_a_unit_of_work_is_not_committed(app, write):
    if write == "flush":
        db.session.add(Venue(name="Uncommitted Hall", address_line1="1 Road", town="Leeds",
                             postcode="LS1 1AA"))
        db.session.flush()
    else:
        db.session.execute(text(
            "INSERT INTO venues (name, address_line1, address_line2, town, postcode, "
            "accessibility_notes, created_at, updated_at) VALUES ('Uncommitted Hall', "
            "'1 Road', '', 'Leeds', 'LS1 1AA', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    end_read_only_transaction()
    assert db.session().in_transaction()  # left for the session's close to roll back
    db.session.remove()
    assert db.session.scalar(select(Venue.id).where(Venue.name == "Uncommitted Hall")) is None


def test_a_new_holds_answer_reads_nothing_back_after_the_commit(app, client):
    session_id = SessionFactory(capacity=10).id
    db.session.commit()
    sent: list[str] = []

    def note(conn, cursor, statement, *args):
        sent.append(" ".join(statement.split()).upper())

    def note_commit(conn):
        sent.append("COMMIT")

    event.listen(db.engine, "before_cursor_execute", note)
    event.listen(db.engine, "commit", note_commit)
    try:
        def hold():
            response = client.post("/api/v1/bookings", json={
                "session_id": session_id, "accept_terms": True,
                "contact": {"name": "Ada Lovelace", "email": "ada@example.com",
                            "phone": "07700 900123", "postcode": "LS1 4AP"},
                "attendees": [{"name": "Ada Lovelace"}]})
            assert response.status_code == 201, response.get_json()
            assert response.get_json()["reference"]

        in_own_thread(hold)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
        event.remove(db.engine, "commit", note_commit)
    assert "COMMIT" in sent
    after = sent[sent.index("COMMIT") + 1:]
    assert not [s for s in after if " FROM BOOKINGS" in s or " FROM ATTENDEES" in s], after
    assert db.session.scalar(select(Booking.seats)) == 1
