"""factory_boy factories for test data. Each call commits, like a real request would."""
from __future__ import annotations

from datetime import timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.extensions import db
from app.models import (
    Attendee, Booking, BookingStatus, Course, CourseSession, Role, SessionStatus, User, Venue,
    utcnow,
)


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class CourseFactory(BaseFactory):
    class Meta:
        model = Course

    slug = factory.Sequence(lambda n: f"course-{n}")
    title = factory.Sequence(lambda n: f"Emergency First Aid at Work {n}")
    category = "Workplace first aid"
    summary = "One day course for appointed workplace first aiders."
    description_html = "<p>Covers CPR, choking and bleeding.</p>"
    duration_days = 1
    duration_hours = 6
    price_pence = 10000
    certificate_validity_months = 36
    default_capacity = 12
    is_active = True


class VenueFactory(BaseFactory):
    class Meta:
        model = Venue

    name = factory.Sequence(lambda n: f"Training Centre {n}")
    address_line1 = "1 Park Row"
    address_line2 = ""
    town = "Leeds"
    postcode = "LS1 5HD"
    accessibility_notes = "Step-free access."


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"trainer{n}@example.co.uk")
    full_name = factory.Sequence(lambda n: f"Trainer {n}")
    password_hash = "not-a-real-hash"
    role = Role.TRAINER
    is_active = True


class SessionFactory(BaseFactory):
    class Meta:
        model = CourseSession

    course = factory.SubFactory(CourseFactory)
    venue = factory.SubFactory(VenueFactory)
    trainer = factory.SubFactory(UserFactory)
    starts_at = factory.LazyFunction(
        lambda: (utcnow() + timedelta(days=14)).replace(hour=9, minute=0, second=0, microsecond=0))
    # Long enough for the course (see timetable.contact_hours_problem): a 7-hour
    # day, or more if the course needs it, on each of its consecutive days.
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(
        days=max(1, o.course.duration_days) - 1,
        hours=max(7, -(-o.course.duration_hours // max(1, o.course.duration_days)))))
    capacity = 12
    status = SessionStatus.SCHEDULED


class BookingFactory(BaseFactory):
    class Meta:
        model = Booking

    reference = factory.Sequence(lambda n: f"TEST{n:08d}")
    session = factory.SubFactory(SessionFactory)
    contact_name = "Priya Shah"
    contact_email = factory.Sequence(lambda n: f"customer{n}@example.com")
    contact_phone = "+447700900123"
    contact_postcode = "LS1 4AP"
    company = None
    seats = 1
    amount_pence = factory.LazyAttribute(lambda o: o.seats * o.session.price_pence)
    status = BookingStatus.CONFIRMED
    hold_expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(minutes=30))


class AttendeeFactory(BaseFactory):
    class Meta:
        model = Attendee

    booking = factory.SubFactory(BookingFactory)
    position = 0
    full_name = "Sam O'Neill"


def booking_request(session_id: int, seats: int = 1, *, email: str = "priya@example.com"):
    """A valid, already-validated booking request for `seats` attendees."""
    from app.validation import AttendeeInput, BookingRequest, ContactInput

    return BookingRequest(
        session_id=session_id,
        contact=ContactInput(name="Priya Shah", email=email, phone="+447700900123",
                             postcode="LS1 4AP", company="Acme Ltd"),
        attendees=tuple(AttendeeInput(name=f"Learner {chr(65 + i % 26)}", email=None,
                                      access_needs=None) for i in range(seats)),
    )
