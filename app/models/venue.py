"""Venue: where a course session runs."""
from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.mixins import SoftDeleteMixin, TimestampMixin


class Venue(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    address_line1: Mapped[str] = mapped_column(String(120), nullable=False)
    address_line2: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    town: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    postcode: Mapped[str] = mapped_column(String(8), nullable=False)
    accessibility_notes: Mapped[str] = mapped_column(Text, nullable=False, default="")

    @property
    def one_line_address(self) -> str:
        parts = [self.address_line1, self.address_line2, self.town, self.postcode]
        return ", ".join(p for p in parts if p)

    def __repr__(self) -> str:
        return f"<Venue {self.name}, {self.town}>"
