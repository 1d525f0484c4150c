"""The public waiting list: join on a full session's page and through the API
(201, 200 for the same email again, 409 seats_available when the seats are free),
leave through the signed link, book through the one-click offer link; and with
the WAITLIST_ENABLED switch off, no form and a 404 waitlist_disabled."""
import re
from urllib.parse import urlsplit

from sqlalchemy import select

from app.extensions import db
from app.models import BookingStatus, WaitlistEntry, WaitlistStatus
from app.services.bookings import holds as svc
from app.services.bookings import waitlist_offers as offers
from app.services.core import switches

from factories import SessionFactory, booking_request
from notify_helpers import deliver_all

POLICY = svc.BookingPolicy()


def full_session(capacity=1):
    session = SessionFactory(capacity=capacity)
    held = svc.hold_seats(booking_request(session.id, capacity), policy=POLICY)
    svc.confirm_booking(held.reference)
    return session


def join_api(client, session_id, **body):
    return client.post(f"/api/v1/sessions/{session_id}/waitlist",
                       json={"name": "Ann Waiting", "email": "ann@example.com", "seats": 1,
                             **body})


def local(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def entry_named(name):
    db.session.expire_all()
    return db.session.scalars(select(WaitlistEntry).where(WaitlistEntry.name == name)).one()


# -- the API ---------------------------------------------------------------------------------
def test_api_join_then_the_same_email_again_answers_the_existing_entry(app, client):
    session = full_session()
    first = join_api(client, session.id, seats=2)
    assert first.status_code == 201
    body = first.get_json()
    assert body["position"] == 1 and body["seats"] == 2
    assert "/waitlist/" in body["leave_url"] and "token=" in body["leave_url"]
    assert join_api(client, session.id, name="Ben Next", email="ben@example.com").get_json()[
        "position"] == 2
    again = join_api(client, session.id, email="ANN@example.com", seats=5)
    assert again.status_code == 200 and again.get_json() == body


def test_api_refuses_to_queue_for_seats_that_are_free_now(app, client):
    session = SessionFactory(capacity=3)
    refused = join_api(client, session.id, seats=3)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "seats_available"
    assert join_api(client, session.id, seats=4).status_code == 201  # more than are free


def test_api_bad_input_is_422_per_field_and_unknown_session_404(app, client):
    session = full_session()
    bad = client.post(f"/api/v1/sessions/{session.id}/waitlist",
                      json={"name": "", "email": "nope", "seats": 0})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"name", "email", "seats"}
    assert join_api(client, 999999).status_code == 404


def test_leaving_through_the_link_takes_the_entry_off_the_list(app, client):
    session = full_session()
    leave_url = local(join_api(client, session.id).get_json()["leave_url"])
    assert client.get(leave_url).status_code == 200
    assert client.post(leave_url).status_code == 200
    assert entry_named("Ann Waiting").status == WaitlistStatus.CANCELLED
    tampered = re.sub(r"token=[^&]+", "token=x" * 1, leave_url)
    assert client.post(tampered).status_code == 403


def test_switched_off_the_api_answers_404_waitlist_disabled_and_the_page_has_no_form(
        app, client):
    session = full_session()
    assert "Join the waiting list" in client.get(f"/sessions/{session.id}").get_data(
        as_text=True)
    switches.set_switch(None, "WAITLIST_ENABLED", False)
    refused = join_api(client, session.id)
    assert refused.status_code == 404
    assert refused.get_json()["error"]["code"] == "waitlist_disabled"
    assert "Join the waiting list" not in client.get(f"/sessions/{session.id}").get_data(
        as_text=True)
    assert client.post(f"/sessions/{session.id}/waitlist", data={
        "waitlist-name": "Ann Waiting", "waitlist-email": "ann@example.com",
        "waitlist-seats": "1"}).status_code == 404


# -- the page ---------------------------------------------------------------------------------
def test_joining_on_the_page_with_errors_at_the_fields_then_again(app, client):
    session = full_session()
    url = f"/sessions/{session.id}/waitlist"
    bad = client.post(url, data={"waitlist-name": "Ann Waiting", "waitlist-email": "nope",
                                 "waitlist-seats": "1"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert re.search(r'id="waitlist-email-error"[^>]*>\s*<span[^>]*>Error: </span>Enter an email',
                     html)
    form = {"waitlist-name": "Ann Waiting", "waitlist-email": "ann@example.com",
            "waitlist-seats": "2"}
    joined = client.post(url, data=form)
    assert joined.status_code == 201 and "Number 1 in line" in joined.get_data(as_text=True)
    again = client.post(url, data=form)
    assert again.status_code == 200 and "already on this waiting list" in again.get_data(
        as_text=True)


def test_the_page_refuses_to_queue_for_free_seats_at_the_seats_field(app, client):
    session = SessionFactory(capacity=3)
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Need more than 3 seats?" in page
    refused = client.post(f"/sessions/{session.id}/waitlist", data={
        "waitlist-name": "Ann Waiting", "waitlist-email": "ann@example.com",
        "waitlist-seats": "2"})
    assert refused.status_code == 409
    assert 'id="waitlist-seats-error"' in refused.get_data(as_text=True)


# -- the offer link -----------------------------------------------------------------------------
def booking_form_data(seats, **extra):
    data = {"action": "book", "seats": str(seats), "contact-name": "Ann Waiting",
            "contact-email": "ann@example.com", "contact-phone": "07700 900123",
            "contact-postcode": "LS1 4AP", "accept_terms": "y", **extra}
    for i in range(seats):
        data[f"attendees-{i}-name"] = f"Learner {chr(65 + i)}"
    return data


def test_the_offer_link_opens_the_form_on_the_held_seats_and_books_them(app, client):
    session = full_session(capacity=2)
    join_api(client, session.id, seats=2)
    [booking] = db.session.scalars(select(svc.Booking).where(
        svc.Booking.session_id == session.id)).all()
    client.post(f"/api/v1/bookings/{booking.reference}/cancel?token="
                + offers.links.current().token(booking.reference))
    deliver_all()
    entry = entry_named("Ann Waiting")
    assert entry.status == WaitlistStatus.OFFERED
    link = local(offers.offer_url(entry, entry.booking.reference))

    form = client.get(link)
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "2 seats are held for you" in html
    assert 'value="ann@example.com"' in html
    done = client.post(link, data=booking_form_data(2))
    assert done.status_code == 303 and f"/bookings/{entry.booking.reference}/pay" in \
        done.headers["Location"]
    db.session.expire_all()
    held = entry_named("Ann Waiting").booking
    assert [a.full_name for a in held.attendees] == ["Learner A", "Learner B"]
    assert held.status == BookingStatus.HELD and held.contact_phone == "+447700900123"
    assert client.get(link).status_code == 303  # details given: on to payment
    svc.confirm_booking(held.reference)
    deliver_all()
    assert entry_named("Ann Waiting").status == WaitlistStatus.BOOKED


def test_declining_on_the_offer_page_passes_the_seats_on(app, client):
    session = SessionFactory(capacity=1)
    for name in ("Ann Waiting", "Ben Next"):
        db.session.add(WaitlistEntry(session_id=session.id, name=name,
                                     email=f"{name.split()[0].lower()}@example.com", seats=1,
                                     status=WaitlistStatus.WAITING))
        db.session.commit()
    [ann] = offers.settle_and_offer(session.id)
    link = local(offers.offer_url(ann, ann.booking.reference))
    assert client.post(link, data={"action": "decline"}).status_code == 303
    deliver_all()
    assert entry_named("Ann Waiting").status == WaitlistStatus.DECLINED
    assert entry_named("Ben Next").status == WaitlistStatus.OFFERED
    ended = client.get(link)
    assert ended.status_code == 200 and "This offer has ended" in ended.get_data(as_text=True)
    assert client.get(re.sub(r"token=[^&]+", "token=forged", link)).status_code == 403
