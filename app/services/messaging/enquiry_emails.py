"""Emails about on-site training enquiries (outbox handlers): the enquirer's
confirmation, the office's notice of a new enquiry, and each answer staff send.

Anyone can type any address into the enquiry form, so the confirmation is
capped per recipient like every email a stranger can cause; the answers come
from staff and are ``essential``. Each answer email carries the private
session's link once one has been arranged."""
from __future__ import annotations

import logging

from app.models import Enquiry, OutboxEvent, SessionStatus
from app.repositories.enquiries import EnquiryRepository
from app.services.core import events, links
from app.services.messaging.emails import OutgoingEmail, recipients, send_once
from app.services.messaging.notifications import admin_addresses
from app.validation import format_uk_phone

log = logging.getLogger(__name__)

handlers = events.HandlerSet()


def _enquiry_for(event: OutboxEvent) -> Enquiry | None:
    raw = event.payload.get("enquiry_id") or event.aggregate_id
    enquiry = EnquiryRepository().get(int(raw)) if str(raw).isdigit() else None
    if enquiry is None:
        log.warning("%s event %s: no enquiry %s; no email sent", event.event_type, event.id, raw)
    return enquiry


def _context(enquiry: Enquiry, **extra) -> dict:
    return {"enquiry": enquiry, "course": enquiry.course,
            "phone": format_uk_phone(enquiry.contact_phone), **extra}


@handlers.on(events.ENQUIRY_RECEIVED, name="email.enquiry_received")
def email_enquiry_received(event: OutboxEvent) -> None:
    """"We have your enquiry": what they asked for, and that we will reply."""
    enquiry = _enquiry_for(event)
    if enquiry is None:
        return
    send_once(f"enquiry-received:{enquiry.id}", OutgoingEmail(
        to=recipients([enquiry.contact_email]),
        subject=f"We have your enquiry: {enquiry.course.title} at your site",
        template="enquiry_received", context=_context(enquiry)))


@handlers.on(events.ENQUIRY_RECEIVED, name="email.enquiry_office")
def email_enquiry_to_office(event: OutboxEvent) -> None:
    """The office hears of each new enquiry, with a link to it in the admin pages."""
    enquiry = _enquiry_for(event)
    if enquiry is None:
        return
    to = admin_addresses()
    if not to:
        log.warning("enquiry %s: no administrator address to notify", enquiry.id)
        return
    send_once(f"enquiry-office:{enquiry.id}", OutgoingEmail(
        to=to, reply_to=recipients([enquiry.contact_email]),
        subject=f"New on-site enquiry: {enquiry.course.title}, {enquiry.learners} learners, "
                f"{enquiry.site_postcode}",
        template="enquiry_office",
        context=_context(enquiry, admin_url=links.current().enquiry_admin_link(enquiry.id))),
        essential=True)


@handlers.on(events.ENQUIRY_ANSWERED, name="email.enquiry_answer")
def email_enquiry_answer(event: OutboxEvent) -> None:
    enquiry = _enquiry_for(event)
    reply_id = event.payload.get("reply_id")
    reply = next((r for r in enquiry.replies if r.id == reply_id), None) if enquiry else None
    if reply is None:
        log.warning("enquiry answer event %s: no reply %s; no email sent", event.id, reply_id)
        return
    session = enquiry.session
    private_url = (links.current().course_session_link(session)
                   if session is not None and session.status == SessionStatus.SCHEDULED
                   else None)
    send_once(f"enquiry-answer:{reply.id}", OutgoingEmail(
        to=recipients([enquiry.contact_email]), subject=reply.subject,
        template="enquiry_answer",
        context=_context(enquiry, reply=reply, paragraphs=reply.body.split("\n\n"),
                         course_session=session if private_url else None,
                         private_url=private_url)), essential=True)
