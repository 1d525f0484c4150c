"""What the office does with enquiries: list them by status, read one, answer it
by email (the reply is kept on the enquiry), close it, and arrange a private
session for it. Every change is audited and owns its transaction.

A private session is an ordinary session made with ``private=True``
(app.services.catalogue.timetable.create_sessions): the catalogue leaves it out
of every public list and opens it only through its private link, which the
answer email carries once the session exists."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from app.models import CourseSession, Enquiry, EnquiryReply, EnquiryStatus, SessionStatus, utcnow
from app.repositories import Page, unit_of_work
from app.repositories.enquiries import EnquiryRepository
from app.services.catalogue import timetable
from app.services.core import events
from app.services.core.audit import record_audit, search_audit, snapshot
from app.services.core.errors import InvalidState, NotFound
from app.services.core.inputs import DEFAULT_PER_PAGE, parse
from app.services.core.readable import describe_entries
from app.validation import clean_text

AUDITED_FIELDS = ("status", "closed_at", "session_id")
STATUS_FILTERS = {"open": "Open", "answered": "Answered", "closed": "Closed", "all": "All"}
DEFAULT_STATUS = "open"
PRIVATE_SESSION_FIELDS = ("venue_id", "trainer_id", "date", "start_time", "end_time",
                          "capacity", "price")

REPLY_RULES = {
    "subject": partial(clean_text, field_label="a subject", max_length=150),
    "body": partial(clean_text, field_label="the message", max_length=5000, multiline=True),
}


@dataclass(frozen=True)
class EnquiryList:
    status: str
    results: Page[Enquiry]
    counts: dict[str, int]


@dataclass(frozen=True)
class EnquiryDetail:
    enquiry: Enquiry
    session: CourseSession | None
    history: list


def parse_status(value: object) -> str:
    """A status filter from the query string; anything unknown shows the open ones."""
    return value if isinstance(value, str) and value in STATUS_FILTERS else DEFAULT_STATUS


def list_enquiries(status: str = DEFAULT_STATUS, *, page: int = 1,
                   per_page: int = DEFAULT_PER_PAGE) -> EnquiryList:
    """One page of enquiries with `status` ("all" for every one), newest first."""
    status = parse_status(status)
    repo = EnquiryRepository()
    stmt = repo.search(None if status == "all" else EnquiryStatus(status))
    counts = {s.value: n for s, n in repo.counts_by_status().items()}
    counts["all"] = sum(counts.values())
    return EnquiryList(status=status, results=repo.paginate(stmt, page=page, per_page=per_page),
                       counts=counts)


def get_enquiry(enquiry_id: int) -> Enquiry:
    enquiry = EnquiryRepository().get(enquiry_id) if 0 < enquiry_id < 2**31 else None
    if enquiry is None:
        raise NotFound("We could not find that enquiry.")
    return enquiry


def enquiry_detail(enquiry_id: int) -> EnquiryDetail:
    enquiry = get_enquiry(enquiry_id)
    return EnquiryDetail(
        enquiry=enquiry, session=enquiry.session,
        history=describe_entries(
            search_audit(entity_type="enquiry", entity_id=enquiry_id, per_page=50).items))


def reply_defaults(enquiry: Enquiry) -> dict[str, str]:
    """What the answer form starts with."""
    return {"subject": f"Your enquiry about {enquiry.course.title} at your site"}


def answer_enquiry(actor_id: int, enquiry_id: int, data: Mapping, *,
                   now: datetime | None = None) -> EnquiryReply:
    """Email an answer to the enquirer and keep it on the enquiry, which becomes
    answered. A closed enquiry is not answered (InvalidState)."""
    values = parse(data, REPLY_RULES)
    with unit_of_work():
        enquiry = EnquiryRepository().get_fresh(enquiry_id) if 0 < enquiry_id < 2**31 else None
        if enquiry is None:
            raise NotFound("We could not find that enquiry.")
        if enquiry.is_closed:
            raise InvalidState("This enquiry is closed, so it cannot be answered.")
        before = snapshot(enquiry, AUDITED_FIELDS)
        reply = EnquiryReply(subject=values["subject"], body=values["body"],
                             sent_by_id=actor_id, created_at=now or utcnow())
        enquiry.replies.append(reply)
        enquiry.status = EnquiryStatus.ANSWERED
        EnquiryRepository().flush()
        events.record_event(events.ENQUIRY_ANSWERED, enquiry.id,
                            {"enquiry_id": enquiry.id, "reply_id": reply.id})
        record_audit(actor_id, "enquiry.answer", "enquiry", enquiry.id, before=before,
                     after={**snapshot(enquiry, AUDITED_FIELDS), "reply_id": reply.id,
                            "subject": reply.subject})
    return reply


def close_enquiry(actor_id: int, enquiry_id: int, *, now: datetime | None = None) -> Enquiry:
    """Close an enquiry (nothing more to do). Closing a closed one is InvalidState."""
    with unit_of_work():
        enquiry = EnquiryRepository().get_fresh(enquiry_id) if 0 < enquiry_id < 2**31 else None
        if enquiry is None:
            raise NotFound("We could not find that enquiry.")
        if enquiry.is_closed:
            raise InvalidState("This enquiry is already closed.")
        before = snapshot(enquiry, AUDITED_FIELDS)
        enquiry.status, enquiry.closed_at = EnquiryStatus.CLOSED, now or utcnow()
        record_audit(actor_id, "enquiry.close", "enquiry", enquiry.id, before=before,
                     after=snapshot(enquiry, AUDITED_FIELDS))
    return enquiry


def private_session_defaults(enquiry: Enquiry) -> dict[str, str]:
    """The private-session form's starting values: the enquiry's course and head count."""
    return {"capacity": str(min(enquiry.learners, timetable.MAX_CAPACITY))}


def create_private_session(actor_id: int, enquiry_id: int, data: Mapping, *,
                           now: datetime | None = None) -> CourseSession:
    """Arrange a private session of the enquiry's course (venue, trainer, date,
    times, seats, price as for any session) and link it to the enquiry, in one
    transaction. An enquiry with a scheduled private session, or a closed one,
    gets no second one (InvalidState)."""
    now = now or utcnow()
    values = {name: data.get(name) for name in PRIVATE_SESSION_FIELDS}
    with unit_of_work():
        enquiry = EnquiryRepository().get_fresh(enquiry_id) if 0 < enquiry_id < 2**31 else None
        if enquiry is None:
            raise NotFound("We could not find that enquiry.")
        if enquiry.is_closed:
            raise InvalidState("This enquiry is closed.")
        if enquiry.session is not None and enquiry.session.status == SessionStatus.SCHEDULED:
            raise InvalidState("This enquiry already has a private session.")
        before = snapshot(enquiry, AUDITED_FIELDS)
        [course_session] = timetable.create_sessions(
            actor_id, {**values, "course_id": str(enquiry.course_id), "repeat": "none",
                       "occurrences": "1"}, now=now, private=True)
        enquiry.session_id = course_session.id
        EnquiryRepository().flush()
        record_audit(actor_id, "enquiry.private_session", "enquiry", enquiry.id, before=before,
                     after=snapshot(enquiry, AUDITED_FIELDS))
    return course_session
