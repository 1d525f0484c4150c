"""Enquiry: an employer asking for training at their own site; EnquiryReply:
each answer an administrator emailed about it."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.mixins import TimestampMixin
from app.models.types import UTCDateTime, utcnow


class EnquiryStatus(str, enum.Enum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class Enquiry(TimestampMixin, db.Model):
    __tablename__ = "enquiries"
    __table_args__ = (
        CheckConstraint("learners > 0", name="learners_positive"),
        Index("ix_enquiries_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), nullable=False)
    learners: Mapped[int] = mapped_column(Integer, nullable=False)
    preferred_dates: Mapped[str] = mapped_column(String(500), nullable=False)
    site_postcode: Mapped[str] = mapped_column(String(8), nullable=False)
    contact_name: Mapped[str] = mapped_column(String(100), nullable=False)
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False)
    contact_phone: Mapped[str] = mapped_column(String(20), nullable=False)
    company: Mapped[str] = mapped_column(String(120), nullable=False)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[EnquiryStatus] = mapped_column(
        Enum(EnquiryStatus, name="enquiry_status", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e], validate_strings=True),
        nullable=False, default=EnquiryStatus.OPEN)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The private session arranged for it, once there is one.
    session_id: Mapped[int | None] = mapped_column(ForeignKey("course_sessions.id"),
                                                   nullable=True, index=True)

    course = relationship("Course", lazy="joined", innerjoin=True)
    session = relationship("CourseSession", lazy="joined")
    replies = relationship("EnquiryReply", back_populates="enquiry", lazy="selectin",
                           order_by="EnquiryReply.id", cascade="all, delete-orphan")

    @property
    def is_closed(self) -> bool:
        return self.status == EnquiryStatus.CLOSED

    def __repr__(self) -> str:
        return f"<Enquiry {self.id} {self.status.value}>"


class EnquiryReply(db.Model):
    __tablename__ = "enquiry_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(ForeignKey("enquiries.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    subject: Mapped[str] = mapped_column(String(150), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    enquiry = relationship("Enquiry", back_populates="replies")
    sent_by = relationship("User", lazy="joined")
