"""Emails about bookings, payments, sessions, certificates and alerts.

Outbox handlers (declared on `handlers`, which the app factory registers) turn
events into emails; the scheduled jobs call the ``send_*`` functions directly.
Every email has a dedupe key (see app.services.messaging.emails), so a handler
run twice for one event sends one email, and every email to a customer carries
the manage-booking link.

A handler re-reads the booking and skips an email the booking no longer
warrants (a confirmation for a booking cancelled meanwhile, an expiry notice
for a hold that a late payment confirmed): deliveries may arrive late.

A hold that never reached payment (no checkout started, never confirmed) gets
no email when it is cancelled or expires: anyone can type any address into a
booking form. Emails about a confirmed booking are ``essential`` and never
held back by the per-recipient cap (app.services.messaging.emails).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from app.models import (
    Attendee, Booking, BookingStatus, CourseSession, Invoice, OutboxEvent, utcnow,
)
from app.repositories.attendees import AttendeeRepository
from app.repositories.invoices import InvoiceRepository
from app.repositories.payments import PaymentRepository
from app.repositories.bookings import BookingRepository
from app.repositories.recipients import RecipientRepository
from app.services.core import alerts, events, links
from app.services.core.provider import Provider
from app.services.core.ukformat import london, pounds, uk_date, uk_time
from app.services.documents import booking_ics, booking_receipt_pdf, invoice_pdf
from app.services.messaging import settings as messaging_settings
from app.services.payments import invoices as invoice_settings
from app.services.messaging.emails import Attachment, OutgoingEmail, recipients, send_once
from app.services.staff.certificates import REMOVED_NAME, certificate_document

log = logging.getLogger(__name__)

handlers = events.HandlerSet()

WHAT_TO_BRING = (
    "Photo ID (a driving licence or passport), so we can check names for certificates",
    "Comfortable clothes: you will practise CPR and the recovery position on the floor",
    "Glasses if you use them for reading, and a pen",
    "Lunch and a drink, unless the venue notes say it is provided",
)


# -- shared pieces ------------------------------------------------------------------------
def _provider() -> Provider:
    return messaging_settings.current().provider


def _booking_for(event: OutboxEvent) -> Booking | None:
    reference = event.payload.get("reference") or event.aggregate_id
    booking = BookingRepository().get_by_reference(str(reference))
    if booking is None:
        log.warning("%s event %s: no booking %s; no email sent", event.event_type, event.id,
                    reference)
    return booking


def _booking_context(booking: Booking, **extra) -> dict:
    course_session = booking.session
    return {
        "booking": booking,
        "course_session": course_session,
        "course": course_session.course,
        "venue": course_session.venue,
        "attendees": booking.attendees,
        "manage_url": links.current().manage_link(booking.reference),
        **extra,
    }


def _ics(booking: Booking, *, cancelled: bool = False) -> Attachment:
    provider = _provider()
    content = booking_ics(booking, manage_url=links.current().manage_link(booking.reference),
                          provider_name=provider.name, provider_email=provider.email,
                          arrive_minutes_before=provider.arrive_minutes_before,
                          cancelled=cancelled)
    return Attachment(f"{booking.reference}.ics", content, "text/calendar")


def _when(course_session: CourseSession) -> str:
    return uk_date(course_session.starts_at)


def _customer_email(booking: Booking, *, subject: str, template: str,
                    attachments: Iterable[Attachment] = (), **extra) -> OutgoingEmail:
    return OutgoingEmail(to=recipients([booking.contact_email]), subject=subject,
                         template=template, context=_booking_context(booking, **extra),
                         attachments=tuple(attachments))


def reached_payment(booking: Booking, *, was_confirmed: bool = False) -> bool:
    """Whether the customer got as far as paying: confirmed at some point, or a
    checkout (or an offline payment) was started for it."""
    return (was_confirmed or booking.confirmed_at is not None
            or bool(PaymentRepository().for_booking(booking.id)))


def _skip(event: OutboxEvent, booking: Booking, why: str) -> None:
    log.info("%s event %s for %s: %s; no email sent", event.event_type, event.id,
             booking.reference, why)


# -- booking confirmed ------------------------------------------------------------------
@handlers.on(events.BOOKING_CONFIRMED, name="email.booking_confirmed")
def email_booking_confirmed(event: OutboxEvent) -> None:
    booking = _booking_for(event)
    if booking is None:
        return
    if booking.status != BookingStatus.CONFIRMED:
        return _skip(event, booking, f"the booking is now {booking.status.value}")
    send_booking_confirmation(booking)


def send_booking_confirmation(booking: Booking, *, dedupe_key: str | None = None) -> bool:
    """The confirmation with the calendar file and the PDF confirmation / VAT receipt."""
    def build() -> OutgoingEmail:
        course_session = booking.session
        receipt = booking_receipt_pdf(booking, _provider(),
                                      manage_url=links.current().manage_link(booking.reference))
        document = "confirmation" if booking.awaits_payment else "receipt"
        return _customer_email(
            booking,
            subject=f"Booking confirmed: {course_session.course.title} on "
                    f"{_when(course_session)} (ref {booking.reference})",
            template="booking_confirmed",
            attachments=[_ics(booking),
                         Attachment(f"{document}-{booking.reference}.pdf", receipt,
                                    "application/pdf")],
            what_to_bring=WHAT_TO_BRING)

    return send_once(dedupe_key or f"booking-confirmed:{booking.reference}", build=build,
                     booking_id=booking.id, essential=True)


# -- invoices ------------------------------------------------------------------------------
def _invoice_attachment(invoice: Invoice, pay_url: str) -> Attachment:
    settings = invoice_settings.current()
    return Attachment(f"invoice-{invoice.number}.pdf",
                      invoice_pdf(invoice, _provider(), bank=settings.bank, pay_url=pay_url),
                      "application/pdf")


def _invoice_email(invoice: Invoice, *, subject: str, template: str, **extra) -> OutgoingEmail:
    """To the billing contact, with the invoice PDF, its pay-by-card link and the
    booking's manage link."""
    pay_url = links.current().invoice_pay_link(invoice.number)
    return OutgoingEmail(
        to=recipients([invoice.billing_email]), subject=subject, template=template,
        context=_booking_context(invoice.booking, invoice=invoice,
                                 bank=invoice_settings.current().bank,
                                 invoice_pay_url=pay_url, **extra),
        attachments=(_invoice_attachment(invoice, pay_url),))


@handlers.on(events.INVOICE_ISSUED, name="email.invoice_issued")
def email_invoice_issued(event: OutboxEvent) -> None:
    number = event.payload.get("invoice_number") or event.aggregate_id
    invoice = InvoiceRepository().get_by_number(str(number))
    if invoice is None:
        log.warning("invoice event %s: no invoice %s; no email sent", event.id, number)
        return
    send_once(f"invoice-issued:{invoice.number}", build=lambda: _invoice_email(
        invoice, subject=f"Invoice {invoice.number} for booking {invoice.booking.reference}: "
                         f"{pounds(invoice.gross_pence)} due by {uk_date(invoice.due_on)}",
        template="invoice_issued"), booking_id=invoice.booking_id, essential=True)


def send_invoice_reminder(invoice: Invoice, days_after_due: int) -> bool:
    """The reminder of an unpaid invoice on its due date or `days_after_due` days after
    (scheduled job), once per invoice and day."""
    if days_after_due <= 0:
        subject = f"Invoice {invoice.number} is due today: {pounds(invoice.outstanding_pence)}"
    else:
        subject = (f"Invoice {invoice.number} is overdue: {pounds(invoice.outstanding_pence)} "
                   f"was due on {uk_date(invoice.due_on)}")
    return send_once(invoice_reminder_key(invoice.number, days_after_due),
                     build=lambda: _invoice_email(invoice, subject=subject,
                                                  template="invoice_reminder",
                                                  days_after_due=days_after_due),
                     booking_id=invoice.booking_id, essential=True)


# -- changes made by staff ----------------------------------------------------------------
def _confirmed_booking_for(event: OutboxEvent) -> Booking | None:
    booking = _booking_for(event)
    if booking is not None and booking.status != BookingStatus.CONFIRMED:
        _skip(event, booking, f"the booking is now {booking.status.value}")
        return None
    return booking


def _moved_place(facts: dict) -> str:
    """'Tuesday 3 March 2026, Leeds' from a BookingTransferred "from"/"to" entry."""
    return f"{uk_date(datetime.fromisoformat(facts['starts_at']))}, {facts['town']}"


@handlers.on(events.BOOKING_TRANSFERRED, name="email.booking_transferred")
def email_booking_transferred(event: OutboxEvent) -> None:
    """Tell the customer what moved, from where to where (the event's own facts,
    so a later move does not rewrite this one), with the calendar file for the
    new date."""
    booking = _confirmed_booking_for(event)
    if booking is None:
        return
    if "from" not in event.payload or "to" not in event.payload:  # recorded before they were
        send_booking_confirmation(
            booking, dedupe_key=f"booking-confirmed:{booking.reference}:transfer:{event.id}")
        return
    moved_from, moved_to = event.payload["from"], event.payload["to"]
    send_once(f"booking-transferred:{booking.reference}:{event.id}", _customer_email(
        booking,
        subject=f"Booking moved: {booking.session.course.title} is now on "
                f"{uk_date(datetime.fromisoformat(moved_to['starts_at']))} "
                f"(ref {booking.reference})",
        template="booking_transferred", attachments=[_ics(booking)],
        moved_from=_moved_place(moved_from), moved_to=_moved_place(moved_to)),
        booking_id=booking.id, essential=True)


@handlers.on(events.CONFIRMATION_RESEND_REQUESTED, name="email.confirmation_resend")
def email_confirmation_resend(event: OutboxEvent) -> None:
    """The confirmation again, once per request however often the event is delivered."""
    booking = _confirmed_booking_for(event)
    if booking is not None:
        send_booking_confirmation(
            booking, dedupe_key=f"booking-confirmed:{booking.reference}:resend:{event.id}")


# -- holds and payments -----------------------------------------------------------------
@handlers.on(events.HOLD_EXPIRED, name="email.hold_expired")
def email_hold_expired(event: OutboxEvent) -> None:
    booking = _booking_for(event)
    if booking is None:
        return
    if booking.status != BookingStatus.EXPIRED:
        return _skip(event, booking, f"the booking is now {booking.status.value}")
    if not reached_payment(booking):
        return _skip(event, booking, "the hold never reached payment")
    course_session = booking.session
    can_rebook = course_session.starts_at > utcnow()
    send_once(f"hold-expired:{booking.reference}", _customer_email(
        booking,
        subject=f"Your held seats were released: {course_session.course.title} on "
                f"{_when(course_session)}",
        template="hold_expired",
        book_again_url=links.current().course_session_link(course_session) if can_rebook
        else None,
        courses_url=links.current().courses_link()), booking_id=booking.id)


@handlers.on(events.PAYMENT_FAILED, name="email.payment_failed")
def email_payment_failed(event: OutboxEvent) -> None:
    booking = _booking_for(event)
    if booking is None:
        return
    if booking.status != BookingStatus.HELD:
        return _skip(event, booking, f"the booking is now {booking.status.value}")
    hold_is_live = booking.hold_is_live(utcnow())
    send_once(f"payment-failed:{booking.reference}:{event.id}", _customer_email(
        booking,
        subject=f"Payment not completed for booking {booking.reference}",
        template="payment_failed",
        reason=event.payload.get("reason") or event.payload.get("message"),
        pay_url=links.current().pay_link(booking.reference) if hold_is_live else None,
        hold_expires_at=booking.hold_expires_at if hold_is_live else None,
        book_again_url=links.current().course_session_link(booking.session)),
        booking_id=booking.id)


@handlers.on(events.PAYMENT_LINK_READY, name="email.payment_link")
def email_payment_link(event: OutboxEvent) -> None:
    """A payment that was queued while card payments were paused can now be made."""
    booking = _booking_for(event)
    if booking is None:
        return
    if not booking.hold_is_live(utcnow()):
        return _skip(event, booking, "the hold is no longer live")
    send_once(f"payment-link:{booking.reference}:{event.id}", _customer_email(
        booking,
        subject=f"Complete your booking {booking.reference}: payment link",
        template="payment_link", pay_url=links.current().pay_link(booking.reference),
        hold_expires_at=booking.hold_expires_at), booking_id=booking.id)


@handlers.on(events.MANAGE_LINK_REISSUED, name="email.manage_link")
def email_manage_link(event: OutboxEvent) -> None:
    """The booking's new manage link (the old one no longer works). Sent only while
    the version in the event is still the booking's: a later reissue sends its own."""
    booking = _booking_for(event)
    if booking is None:
        return
    version = event.payload.get("version")
    if version != booking.manage_link_version:
        return _skip(event, booking, "a newer link has been issued since")
    send_once(f"manage-link:{booking.reference}:{version}", _customer_email(
        booking, subject=f"Your new link to manage booking {booking.reference}",
        template="manage_link", revoked=True), booking_id=booking.id)


@handlers.on(events.MANAGE_LINK_REQUESTED, name="email.manage_link_requested")
def email_requested_manage_link(event: OutboxEvent) -> None:
    """"Find my booking": the booking's current link, only if the email asked with is
    the booking's own. Not essential, so the per-recipient cap bounds what strangers
    who know a reference can send."""
    from app.services.bookings.manage_links import requested_booking

    booking = requested_booking(event.payload)
    if booking is None:
        log.info("%s event %s: no booking with that reference and email; no email sent",
                 event.event_type, event.id)
        return
    send_once(f"manage-link-request:{event.id}", _customer_email(
        booking, subject=f"Your link to manage booking {booking.reference}",
        template="manage_link", revoked=False), booking_id=booking.id)


# -- cancellations and refunds ------------------------------------------------------------
@handlers.on(events.BOOKING_CANCELLED, name="email.booking_cancelled")
def email_booking_cancelled(event: OutboxEvent) -> None:
    if event.payload.get("reason") == "session_cancelled":
        return  # the session-cancelled email tells these customers
    booking = _booking_for(event)
    if booking is None:
        return
    was_confirmed = bool(event.payload.get("was_confirmed"))
    if not reached_payment(booking, was_confirmed=was_confirmed):
        return _skip(event, booking, "the hold never reached payment")
    refund_pence = int(event.payload.get("refund_due_pence") or booking.refund_due_pence or 0)
    course_session = booking.session
    send_once(f"booking-cancelled:{booking.reference}", _customer_email(
        booking,
        subject=f"Booking cancelled: {course_session.course.title} on "
                f"{_when(course_session)} (ref {booking.reference})",
        template="booking_cancelled",
        attachments=[_ics(booking, cancelled=True)] if was_confirmed else [],
        was_confirmed=was_confirmed, refund_pence=refund_pence,
        courses_url=links.current().courses_link()), booking_id=booking.id,
        essential=was_confirmed)


@handlers.on(events.REFUND_ISSUED, name="email.refund_issued")
def email_refund_issued(event: OutboxEvent) -> None:
    booking = _booking_for(event)
    if booking is None:
        return
    amount = int(event.payload.get("amount_pence") or 0)
    if amount <= 0:
        return _skip(event, booking, "the event names no refund amount")
    key = event.payload.get("refund_id") or f"event-{event.id}"
    send_once(f"refund-issued:{booking.reference}:{key}", _customer_email(
        booking,
        subject=f"Refund of {pounds(amount)} for booking {booking.reference}",
        template="refund_issued", refund_pence=amount), booking_id=booking.id, essential=True)


@handlers.on(events.LATE_PAYMENT_REFUNDED, name="email.late_payment_refunded")
def email_late_payment_refunded(event: OutboxEvent) -> None:
    booking = _booking_for(event)
    if booking is None:
        return
    amount = int(event.payload.get("amount_pence") or booking.amount_pence)
    course_session = booking.session
    send_once(f"late-payment-refunded:{booking.reference}", _customer_email(
        booking,
        subject=f"Sorry, {course_session.course.title} on {_when(course_session)} filled up: "
                f"{pounds(amount)} refunded",
        template="late_payment_refunded", refund_pence=amount,
        courses_url=links.current().courses_link()), booking_id=booking.id, essential=True)


# -- changes made by the provider ---------------------------------------------------------
def _session_bookings(session_id: int, statuses: Iterable[BookingStatus],
                      references: list[str] | None = None) -> list[Booking]:
    return RecipientRepository().bookings_on_session(session_id, statuses, references)


@handlers.on(events.SESSION_CHANGED, name="email.session_changed")
def email_session_changed(event: OutboxEvent) -> None:
    """Payload {"session_id", "summary" (optional sentence saying what changed)}."""
    session_id = int(event.payload.get("session_id") or event.aggregate_id)
    for booking in _session_bookings(session_id, (BookingStatus.CONFIRMED,)):
        course_session = booking.session
        send_once(f"session-changed:{event.id}:{booking.reference}", _customer_email(
            booking,
            subject=f"Change to your course: {course_session.course.title} "
                    f"(ref {booking.reference})",
            template="session_changed", attachments=[_ics(booking)],
            summary=event.payload.get("summary")), booking_id=booking.id, essential=True)


@handlers.on(events.SESSION_CANCELLED, name="email.session_cancelled")
def email_session_cancelled(event: OutboxEvent) -> None:
    """Payload {"session_id", "references" (optional: the bookings it cancelled),
    "reason" (optional sentence)}. Bookings cancelled with it record
    BookingCancelled with reason "session_cancelled", which sends no second email."""
    session_id = int(event.payload.get("session_id") or event.aggregate_id)
    references = event.payload.get("references")
    if references:
        bookings = _session_bookings(session_id, tuple(BookingStatus), references)
    else:
        since = event.created_at - timedelta(minutes=5)
        bookings = [b for b in _session_bookings(
            session_id, (BookingStatus.CONFIRMED, BookingStatus.CANCELLED,
                         BookingStatus.REFUNDED))
            if b.status == BookingStatus.CONFIRMED or (b.cancelled_at and b.cancelled_at >= since)]
    for booking in bookings:
        course_session = booking.session
        refund = booking.refund_due_pence or (booking.amount_pence if booking.confirmed_at else 0)
        send_once(f"session-cancelled:{session_id}:{booking.reference}", _customer_email(
            booking,
            subject=f"Cancelled: {course_session.course.title} on {_when(course_session)} "
                    f"(ref {booking.reference})",
            template="session_cancelled", attachments=[_ics(booking, cancelled=True)],
            reason=event.payload.get("reason"), refund_pence=refund,
            courses_url=links.current().courses_link()), booking_id=booking.id, essential=True)


@handlers.on(events.WAITLIST_OFFER_MADE, name="email.waitlist_offer")
def email_waitlist_offer(event: OutboxEvent) -> None:
    payload = event.payload
    course_session = RecipientRepository().course_session(int(payload["session_id"]))
    if course_session is None or not payload.get("email"):
        log.warning("waiting-list offer event %s is incomplete; no email sent", event.id)
        return
    expires_at = datetime.fromisoformat(payload["expires_at"]) if payload.get("expires_at") \
        else None
    send_once(f"waitlist-offer:{payload.get('entry_id', event.aggregate_id)}:{event.id}",
              OutgoingEmail(
                  to=recipients([payload["email"]]),
                  subject=f"A seat is free: {course_session.course.title} on "
                          f"{_when(course_session)}",
                  template="waitlist_offer",
                  context={"name": payload.get("name") or "there",
                           "course_session": course_session, "course": course_session.course,
                           "venue": course_session.venue, "offer_url": payload["offer_url"],
                           "manage_url": payload["offer_url"], "expires_at": expires_at,
                           "seats": payload.get("seats") or 1,
                           "leave_url": payload.get("leave_url")}))


# -- certificates -----------------------------------------------------------------------
def _certificate_recipient(attendee: Attendee) -> tuple[str, ...]:
    """The booker, who greets the email, and the attendee too if they gave an address."""
    return recipients([attendee.booking.contact_email, attendee.email or ""])


def _send_certificate(attendee: Attendee, dedupe_key: str, *, resent: bool = False) -> bool:
    booking = attendee.booking
    number = attendee.certificate_number

    def build() -> OutgoingEmail:
        return OutgoingEmail(
            to=_certificate_recipient(attendee),
            subject=f"Certificate for {attendee.full_name}: {booking.session.course.title} "
                    f"({number})",
            template="certificate_issued",
            context=_booking_context(booking, attendee=attendee, resent=resent,
                                     verify_url=links.current().verify_link(number)),
            attachments=(Attachment(f"certificate-{number}.pdf", certificate_document(attendee),
                                    "application/pdf"),))

    return send_once(dedupe_key, build=build, booking_id=booking.id, essential=True)


def _current_certificate_holder(event: OutboxEvent) -> Attendee | None:
    """The attendee whose certificate the event names, while that number is still theirs
    (a reissue since sends its own email) and their name is still on record."""
    number = event.payload.get("certificate_number") or event.aggregate_id
    attendee = AttendeeRepository().get_by_certificate_number(number)
    if attendee is None or attendee.full_name == REMOVED_NAME:
        log.info("%s event %s: certificate %s is no longer current; no email sent",
                 event.event_type, event.id, number)
        return None
    return attendee


@handlers.on(events.CERTIFICATE_ISSUED, name="email.certificate_issued")
def email_certificate_issued(event: OutboxEvent) -> None:
    attendee = _current_certificate_holder(event)
    if attendee is not None:
        _send_certificate(attendee, f"certificate-issued:{attendee.certificate_number}")


@handlers.on(events.CERTIFICATE_RESEND_REQUESTED, name="email.certificate_resent")
def email_certificate_resent(event: OutboxEvent) -> None:
    attendee = _current_certificate_holder(event)
    if attendee is not None:
        _send_certificate(attendee, f"certificate-resent:{attendee.certificate_number}:{event.id}",
                          resent=True)


def certificate_expiry_key(certificate_number: str, days_before: int) -> str:
    """What makes a certificate's expiry reminder unique: one per certificate and per
    reminder (CERTIFICATE_REMINDER_DAYS)."""
    return f"certificate-expiry:{certificate_number}:{days_before}"


def send_certificate_expiry_reminder(attendee: Attendee, days_before: int = 0, *,
                                     now: datetime | None = None) -> bool:
    """Tell a certificate holder and their booker that the certificate runs out soon,
    with the next requalification dates (scheduled job; once per reminder)."""
    from app.services.bookings.requalification import next_requalification_sessions

    if attendee.full_name == REMOVED_NAME or not attendee.certificate_number:
        return False
    booking = attendee.booking
    course = booking.session.course
    site = links.current()

    def build() -> OutgoingEmail:
        sessions = [{"course": s.course.title, "starts_at": s.starts_at, "town": s.venue.town,
                     "url": site.session_link(s.id)}
                    for s in next_requalification_sessions(course, now=now)]
        return OutgoingEmail(
            to=_certificate_recipient(attendee),
            subject=f"{attendee.full_name}'s {course.title} certificate expires on "
                    f"{uk_date(attendee.certificate_expires_on)}",
            template="certificate_expiry",
            context=_booking_context(
                booking, attendee=attendee, courses_url=site.courses_link(),
                requal_sessions=sessions,
                verify_url=site.verify_link(attendee.certificate_number)))

    return send_once(certificate_expiry_key(attendee.certificate_number, days_before),
                     build=build, booking_id=booking.id, essential=True)


# -- reminders ----------------------------------------------------------------------------
def invoice_reminder_key(number: str, days_after_due: int) -> str:
    """One reminder per invoice and reminder day."""
    return f"invoice-reminder:{number}:{days_after_due}"


def course_reminder_key(booking: Booking) -> str:
    """One reminder per booking and start time, so a moved session gets a fresh one."""
    return f"course-reminder:{booking.reference}:{london(booking.session.starts_at):%Y%m%dT%H%M}"


def send_course_reminder(booking: Booking) -> bool:
    """The reminder a couple of days before the course (scheduled job). Keyed on the
    start time too, so a moved session gets a fresh reminder."""
    course_session = booking.session
    return send_once(course_reminder_key(booking), _customer_email(
        booking,
        subject=f"Reminder: {course_session.course.title} on {_when(course_session)} at "
                f"{uk_time(course_session.starts_at)}, {course_session.venue.town}",
        template="course_reminder", attachments=[_ics(booking)],
        what_to_bring=WHAT_TO_BRING), booking_id=booking.id, essential=True)


# -- alerts for administrators ------------------------------------------------------------
def admin_addresses() -> tuple[str, ...]:
    configured = messaging_settings.current().admin_alert_emails
    if configured:
        return recipients(configured)
    return recipients(RecipientRepository().admin_emails())


@handlers.on(events.ALERT_RAISED, name="email.admin_alert")
def email_admin_alert(event: OutboxEvent) -> None:
    """Critical alerts are emailed to the administrators at once, within the rate
    limit of app.services.core.alerts.claim_alert_email; others wait in the admin pages."""
    if event.payload.get("severity") != "critical":
        return
    to = admin_addresses()
    if not to:
        log.warning("critical alert %s: no administrator address to email", event.aggregate_id)
        return
    alert = alerts.claim_alert_email(event.id, int(event.aggregate_id))
    if alert is None:
        log.info("critical alert %s: email held back by the rate limit", event.aggregate_id)
        return
    send_once(f"alert-email:{event.id}", OutgoingEmail(
        to=to, subject=f"[Critical] {alert.title}: {_shorten(alert.message, 80)}",
        template="admin_alert",
        context={"title": alert.title, "message": alert.message, "count": alert.count,
                 "first_seen_at": alert.first_seen_at, "last_seen_at": alert.last_seen_at,
                 "admin_url": links.current().admin_link()}), essential=True)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
