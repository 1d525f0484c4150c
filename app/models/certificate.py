"""SupersededCertificate: a certificate number replaced by a reissue (a corrected
name), kept so /verify can say the number was genuine and what replaced it."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime


class SupersededCertificate(db.Model):
    """No name is kept: the holder's current name lives on the attendee (and goes
    with it under the retention policy); the old number only points to the new one."""

    __tablename__ = "superseded_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attendee_id: Mapped[int] = mapped_column(
        ForeignKey("attendees.id", ondelete="CASCADE"), nullable=False, index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    expires_on: Mapped[date] = mapped_column(Date, nullable=False)
    replaced_by: Mapped[str] = mapped_column(String(32), nullable=False)
    superseded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    attendee = relationship("Attendee", lazy="joined", innerjoin=True)

    def __repr__(self) -> str:
        return f"<SupersededCertificate {self.number} -> {self.replaced_by}>"
