"""Waiting-list pages: add, offer to the next person, remove (hx-confirm with
JavaScript, a confirm page without)."""
from sqlalchemy import select

from app.extensions import db
from app.models import WaitlistEntry, WaitlistStatus

from admin_helpers import assert_admin_only, paid_booking
from factories import SessionFactory


def _entry(session_id, name="Ann First"):
    entry = WaitlistEntry(session_id=session_id, name=name, email="ann@example.com", seats=1,
                          status=WaitlistStatus.WAITING)
    db.session.add(entry)
    db.session.commit()
    return entry


def test_waiting_list_pages_are_for_admins_only(app, admin_client, trainer_client, client):
    session = SessionFactory()
    entry = _entry(session.id)
    for url in ("/admin/waiting-lists", f"/admin/sessions/{session.id}/waiting-list",
                f"/admin/waiting-list/{entry.id}/remove"):
        assert_admin_only(admin_client, trainer_client, client, url)


def test_overview_and_session_list(app, admin_client):
    session = SessionFactory(course__title="First Aid at Work")
    _entry(session.id, "Ann First")
    assert "First Aid at Work" in admin_client.get("/admin/waiting-lists").get_data(as_text=True)
    html = admin_client.get(f"/admin/sessions/{session.id}/waiting-list").get_data(as_text=True)
    assert "Ann First" in html and 'hx-confirm="Remove Ann First from the waiting list?"' in html


def test_adding_someone_with_errors_next_to_the_fields(app, admin_client):
    session = SessionFactory()
    bad = admin_client.post(f"/admin/sessions/{session.id}/waiting-list",
                            data={"name": "Dee", "email": "nope", "seats": "1"})
    assert bad.status_code == 422 and 'id="email-error"' in bad.get_data(as_text=True)
    ok = admin_client.post(f"/admin/sessions/{session.id}/waiting-list",
                           data={"name": "Dee Phone", "email": "dee@example.com", "seats": "2"})
    assert ok.status_code == 303
    assert db.session.scalar(select(WaitlistEntry.name)) == "Dee Phone"


def test_offer_next_and_a_full_session(app, admin_client):
    session = SessionFactory(capacity=1)
    entry = _entry(session.id)
    assert admin_client.post(f"/admin/sessions/{session.id}/waiting-list/offer-next",
                             data={"hours": "24"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, entry.id).status == WaitlistStatus.OFFERED
    full = SessionFactory(capacity=1)
    paid_booking(full.id)
    _entry(full.id)
    refused = admin_client.post(f"/admin/sessions/{full.id}/waiting-list/offer-next",
                                data={"hours": "24"})
    assert refused.status_code == 409
    assert "No seats are free" in refused.get_data(as_text=True)


def test_remove_with_and_without_javascript(app, admin_client):
    session = SessionFactory()
    first, second = _entry(session.id, "Ann First"), _entry(session.id, "Ben Second")
    no_js = admin_client.post(f"/admin/waiting-list/{first.id}/remove")
    assert no_js.status_code == 200 and "Yes, remove" in no_js.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, first.id).status == WaitlistStatus.WAITING
    htmx = admin_client.post(f"/admin/waiting-list/{second.id}/remove",
                             data={"confirmed": "yes"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 204
    assert htmx.headers["HX-Redirect"] == f"/admin/sessions/{session.id}/waiting-list"
    db.session.expire_all()
    assert db.session.get(WaitlistEntry, second.id).status == WaitlistStatus.CANCELLED
