"""Data access: a base repository and one repository per aggregate."""
from app.repositories.base import MAX_PER_PAGE, Page, Repository, unit_of_work
from app.repositories.bookings import BookingRepository
from app.repositories.courses import CourseRepository
from app.repositories.idempotency import IdempotencyRepository
from app.repositories.sessions import SessionFilters, SessionRepository
from app.repositories.users import UserRepository
from app.repositories.venues import VenueRepository

__all__ = [
    "MAX_PER_PAGE", "BookingRepository", "CourseRepository", "IdempotencyRepository", "Page", "Repository",
    "SessionFilters", "SessionRepository", "UserRepository", "VenueRepository", "unit_of_work",
]
