"""A message staff emailed to everyone booked on a session, and who it went to."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class SessionMessage(db.Model):
    """What an administrator wrote, once: `send_key` (made when the preview was
    shown) is unique, so the same preview sent twice is one message."""

    __tablename__ = "session_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("course_sessions.id"), nullable=False,
                                            index=True)
    subject: Mapped[str] = mapped_column(String(150), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # plain text, escaped when shown
    send_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    sent_by = relationship("User", lazy="joined")
    recipients = relationship("SessionMessageRecipient", back_populates="message",
                              lazy="selectin", order_by="SessionMessageRecipient.id")

    @property
    def sent_count(self) -> int:
        return sum(1 for r in self.recipients if r.sent_at is not None)


class SessionMessageRecipient(db.Model):
    """One booking the message is addressed to (its contact, at the time of sending)."""

    __tablename__ = "session_message_recipients"
    __table_args__ = (
        UniqueConstraint("message_id", "booking_id",
                         name="uq_session_message_recipients_message_id_booking_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("session_messages.id", ondelete="CASCADE"), nullable=False)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), nullable=False,
                                            index=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    message = relationship("SessionMessage", back_populates="recipients", lazy="joined")
    booking = relationship("Booking", lazy="joined")
