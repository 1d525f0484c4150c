"""SQLAlchemy models, one module per aggregate. Import from here."""
from app.models.booking import Attendee, Booking, BookingStatus
from app.models.course import Course
from app.models.course_session import CourseSession, SessionStatus
from app.models.idempotency import IdempotencyRecord
from app.models.types import utcnow
from app.models.user import Role, User
from app.models.venue import Venue

__all__ = [
    "Attendee", "Booking", "BookingStatus", "Course", "CourseSession", "IdempotencyRecord", "Role",
    "SessionStatus", "User", "Venue", "utcnow",
]
