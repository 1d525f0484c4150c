"""Booking pages: search with HTMX, the booking page and its actions, and bookings
taken by phone, with service errors shown next to the fields."""
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Booking, BookingStatus, OutboxEvent, Payment, Refund, SessionStatus, utcnow
from app.services.core import events

from admin_helpers import assert_admin_only, held_booking, paid_booking
from factories import BookingFactory, CourseFactory, SessionFactory


def test_booking_pages_are_for_admins_only(app, admin_client, trainer_client, client):
    booking = paid_booking(SessionFactory().id)
    for url in ("/admin/bookings", "/admin/bookings/new", f"/admin/bookings/{booking.reference}",
                f"/admin/bookings/{booking.reference}/cancel",
                f"/admin/bookings/{booking.reference}/refund"):
        assert_admin_only(admin_client, trainer_client, client, url)


def test_unknown_reference_is_404(app, admin_client):
    assert admin_client.get("/admin/bookings/NOPE123456").status_code == 404
    assert admin_client.get("/admin/bookings/%3Cscript%3E").status_code == 404


def test_search_and_filters_through_htmx(app, admin_client):
    session = SessionFactory()
    BookingFactory(session=session, contact_name="Priya Shah", company="Acme Ltd")
    BookingFactory(session=session, contact_name="Tom Jones", status=BookingStatus.CANCELLED)
    response = admin_client.get("/admin/bookings?q=acme", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and "Priya Shah" in body and "Tom Jones" not in body
    assert "HX-Request" in response.headers["Vary"]
    body = admin_client.get("/admin/bookings?status=cancelled").get_data(as_text=True)
    assert "Tom Jones" in body and "Priya Shah" not in body
    assert "1 booking" in body


def test_pagination_keeps_the_search(app, admin_client):
    session = SessionFactory(capacity=60)
    for i in range(30):
        BookingFactory(session=session, company="Acme Ltd",
                       created_at=utcnow() - timedelta(minutes=i))
    html = admin_client.get("/admin/bookings?q=acme").get_data(as_text=True)
    assert 'href="/admin/bookings?q=acme&amp;page=2"' in html
    assert "Page 1 of 2 (30 in all)" in html


def test_booking_page_shows_the_timeline(app, admin_client):
    booking = paid_booking(SessionFactory().id, 2)
    html = admin_client.get(f"/admin/bookings/{booking.reference}").get_data(as_text=True)
    assert "Timeline" in html and "Seats held" in html and "Booking confirmed" in html
    assert "Payment succeeded (fake)" in html
    assert "07700 900123" in html  # the phone number, formatted


def test_resend_records_the_request_and_says_so(app, admin_client):
    booking = paid_booking(SessionFactory().id)
    response = admin_client.post(f"/admin/bookings/{booking.reference}/resend")
    assert response.status_code == 303
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The confirmation is on its way to priya@example.com again." in page
    assert db.session.scalar(select(OutboxEvent).where(
        OutboxEvent.event_type == events.CONFIRMATION_RESEND_REQUESTED)) is not None


def test_name_errors_are_shown_next_to_the_attendee(app, admin_client):
    booking = paid_booking(SessionFactory().id, 2)
    response = admin_client.post(f"/admin/bookings/{booking.reference}/names",
                                 data={"attendees-0-name": "Anne Other",
                                       "attendees-1-name": "R2-D2"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="attendees-1-name-error"' in html
    ok = admin_client.post(f"/admin/bookings/{booking.reference}/names",
                           data={"attendees-0-name": "Anne Other", "attendees-1-name": "Bo Li"})
    assert ok.status_code == 303
    db.session.expire_all()
    assert [a.full_name for a in db.session.get(Booking, booking.id).attendees] == [
        "Anne Other", "Bo Li"]


def test_transfer_through_the_form_and_a_full_target(app, admin_client):
    course = CourseFactory()
    source = SessionFactory(course=course)
    roomy = SessionFactory(course=course, starts_at=utcnow() + timedelta(days=20),
                           ends_at=utcnow() + timedelta(days=20, hours=6))
    full = SessionFactory(course=course, capacity=1, starts_at=utcnow() + timedelta(days=21),
                          ends_at=utcnow() + timedelta(days=21, hours=6))
    paid_booking(full.id)
    booking = paid_booking(source.id, 2)
    page = admin_client.get(f"/admin/bookings/{booking.reference}").get_data(as_text=True)
    assert "(0 free)" in page and "(12 free)" in page
    refused = admin_client.post(f"/admin/bookings/{booking.reference}/transfer",
                                data={"session_id": full.id})
    assert refused.status_code == 409
    assert "fully booked" in refused.get_data(as_text=True)
    moved = admin_client.post(f"/admin/bookings/{booking.reference}/transfer",
                              data={"session_id": roomy.id})
    assert moved.status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).session_id == roomy.id


def test_cancel_with_a_full_refund_after_confirming(app, admin_client):
    session = SessionFactory(starts_at=utcnow() + timedelta(hours=30),
                             ends_at=utcnow() + timedelta(hours=36))
    booking = paid_booking(session.id)
    page = admin_client.get(f"/admin/bookings/{booking.reference}/cancel").get_data(as_text=True)
    assert "A full refund: £100" in page and "What the cancellation policy allows: £0" in page
    unconfirmed = admin_client.post(f"/admin/bookings/{booking.reference}/cancel",
                                    data={"refund": "full"})
    assert unconfirmed.status_code == 200
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    done = admin_client.post(f"/admin/bookings/{booking.reference}/cancel",
                             data={"refund": "full", "confirmed": "yes"})
    assert done.status_code == 303
    db.session.expire_all()
    cancelled = db.session.get(Booking, booking.id)
    assert cancelled.status == BookingStatus.CANCELLED and cancelled.refund_due_pence == 10000


def test_partial_refund_through_the_form(app, admin_client):
    booking = paid_booking(SessionFactory().id)
    bad = admin_client.post(f"/admin/bookings/{booking.reference}/refund",
                            data={"amount": "500", "confirmed": "yes"})
    assert bad.status_code == 422 and 'id="amount-error"' in bad.get_data(as_text=True)
    done = admin_client.post(f"/admin/bookings/{booking.reference}/refund",
                             data={"amount": "20", "confirmed": "yes"})
    assert done.status_code == 303
    assert db.session.scalar(select(Refund.amount_pence)) == 2000


def manual(session_id, **overrides):
    data = {"session_id": session_id, "seats": "2", "contact-name": "Priya Shah",
            "contact-email": "priya@acme.co.uk", "contact-phone": "07700 900123",
            "contact-postcode": "LS1 4AP", "contact-company": "Acme",
            "attendees-0-name": "Anne Other", "attendees-1-name": "Bob Smith",
            "method": "bank_transfer", "note": "TR 991"}
    data.update(overrides)
    return data


def test_manual_booking_through_the_form(app, admin_client):
    session = SessionFactory()
    form = admin_client.get(f"/admin/bookings/new?session={session.id}").get_data(as_text=True)
    assert f'<option selected value="{session.id}">' in form or \
        f'<option value="{session.id}" selected>' in form
    response = admin_client.post("/admin/bookings/new", data=manual(session.id))
    assert response.status_code == 303
    booking = db.session.scalar(select(Booking))
    assert response.headers["Location"] == f"/admin/bookings/{booking.reference}"
    assert booking.status == BookingStatus.CONFIRMED and booking.seats == 2
    assert db.session.scalar(select(Payment.provider)) == "bank_transfer"


def test_manual_booking_errors_sit_next_to_the_contact_and_attendee_fields(app, admin_client):
    session = SessionFactory()
    response = admin_client.post("/admin/bookings/new", data=manual(
        session.id, **{"contact-email": "nope", "attendees-1-name": "12"}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="contact-email-error"' in html and 'id="attendees-1-name-error"' in html
    assert db.session.scalar(select(Booking)) is None


def test_changing_the_seat_count_redraws_the_attendee_rows_without_booking(app, admin_client):
    session = SessionFactory()
    response = admin_client.post("/admin/bookings/new",
                                 data=manual(session.id, seats="4", action="refresh"))
    assert response.status_code == 200
    assert 'name="attendees-3-name"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Booking)) is None


def test_manual_booking_on_a_full_session_says_so(app, admin_client):
    session = SessionFactory(capacity=1)
    response = admin_client.post("/admin/bookings/new", data=manual(session.id))
    assert response.status_code == 409
    assert "Only 1 seat is left" in response.get_data(as_text=True)


def test_held_booking_marked_paid_by_invoice(app, admin_client):
    booking = held_booking(SessionFactory().id)
    page = admin_client.get(f"/admin/bookings/{booking.reference}").get_data(as_text=True)
    assert "Mark as paid and confirm" in page
    response = admin_client.post(f"/admin/bookings/{booking.reference}/mark-paid",
                                 data={"method": "invoice", "note": "INV-7"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED


def completed_booking():
    """A booking on a session that ran two days ago and has been completed."""
    course = CourseFactory()
    starts = utcnow() - timedelta(days=2)
    session = SessionFactory(course=course, starts_at=starts, ends_at=starts + timedelta(hours=7))
    booking = paid_booking(session.id, 2, now=utcnow() - timedelta(days=10))
    session.status = SessionStatus.COMPLETED
    db.session.commit()
    return booking


def test_a_completed_booking_page_offers_no_transfer_cancel_or_name_change(app, admin_client):
    booking = completed_booking()
    SessionFactory(course=booking.session.course)  # a future date it could have moved to
    page = admin_client.get(f"/admin/bookings/{booking.reference}").get_data(as_text=True)
    assert "Move the booking" not in page and "Cancel the booking" not in page
    assert "Save names" not in page
    assert "This course has been completed" in page
    assert f'href="/admin/bookings/{booking.reference}/refund"' in page  # goodwill stays

    cancel_page = admin_client.get(f"/admin/bookings/{booking.reference}/cancel")
    html = cancel_page.get_data(as_text=True)
    assert "Yes, cancel the booking" not in html and "can no longer be cancelled" in html


def test_actions_posted_for_a_completed_booking_are_refused_with_a_reason(app, admin_client):
    booking = completed_booking()
    source_id = booking.session_id
    future = SessionFactory(course=booking.session.course)
    moved = admin_client.post(f"/admin/bookings/{booking.reference}/transfer",
                              data={"session_id": future.id})
    assert moved.status_code == 409
    assert "can no longer be moved to another date" in moved.get_data(as_text=True)
    cancelled = admin_client.post(f"/admin/bookings/{booking.reference}/cancel",
                                  data={"refund": "full", "confirmed": "yes"})
    assert cancelled.status_code == 422
    assert "can no longer be cancelled" in cancelled.get_data(as_text=True)
    renamed = admin_client.post(f"/admin/bookings/{booking.reference}/names",
                                data={"attendees-0-name": "Anne Other",
                                      "attendees-1-name": "Bo Li"})
    assert renamed.status_code == 409
    assert "can no longer be changed" in renamed.get_data(as_text=True)
    db.session.expire_all()
    kept = db.session.get(Booking, booking.id)
    assert (kept.session_id, kept.status, kept.refund_due_pence) == (
        source_id, BookingStatus.CONFIRMED, 0)
    assert [a.full_name for a in kept.attendees] == ["Learner A", "Learner B"]
