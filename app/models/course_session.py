"""CourseSession: one dated run of a course at a venue with a trainer."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.mixins import TimestampMixin
from app.models.types import UTCDateTime


class SessionStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class CourseSession(TimestampMixin, db.Model):
    __tablename__ = "course_sessions"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_course_sessions_course_id_starts_at", "course_id", "starts_at"),
        Index(
            "ix_course_sessions_upcoming",
            "starts_at",
            postgresql_where=text("status = 'scheduled'"),
            sqlite_where=text("status = 'scheduled'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), nullable=False)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), nullable=False, index=True)
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    # Overrides the course price when set (e.g. a discounted date).
    price_pence_override: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[SessionStatus] = mapped_column(
        Enum(SessionStatus, name="session_status", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e], validate_strings=True),
        nullable=False,
        default=SessionStatus.SCHEDULED,
    )
    # Bumped by every seat-changing transaction: the UPDATE is what serialises
    # them (see app.services.bookings.holds).
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # A private session (on-site training arranged for one employer) is on no public
    # list and opens only through its private link, which carries `private_token`.
    is_private: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                             server_default=false())
    private_token: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)

    course = relationship("Course", back_populates="sessions", lazy="joined", innerjoin=True)
    venue = relationship("Venue", lazy="joined", innerjoin=True)
    trainer = relationship("User", lazy="joined")

    @hybrid_property
    def is_listed(self) -> bool:
        """Whether the session may appear in public lists (calendar, course pages,
        the API's lists, live counts): every session but a private one."""
        return not self.is_private

    @is_listed.inplace.expression
    @classmethod
    def _is_listed_expression(cls):
        return cls.is_private.is_(False)

    @property
    def price_pence(self) -> int:
        if self.price_pence_override is not None:
            return self.price_pence_override
        return self.course.price_pence

    def __repr__(self) -> str:
        return f"<CourseSession {self.id} {self.course_id} {self.starts_at:%Y-%m-%d}>"
