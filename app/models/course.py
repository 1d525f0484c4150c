"""Course: a product in the catalogue (e.g. First Aid at Work)."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.mixins import SoftDeleteMixin, TimestampMixin


class Course(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("price_pence >= 0", name="price_not_negative"),
        CheckConstraint("default_capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(160), nullable=False)
    category: Mapped[str] = mapped_column(String(60), nullable=False)
    summary: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    # Sanitised with bleach before it is stored; rendered with |safe.
    description_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    duration_days: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    duration_hours: Mapped[int] = mapped_column(Integer, nullable=False)
    price_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    certificate_validity_months: Mapped[int] = mapped_column(Integer, nullable=False, default=36)
    default_capacity: Mapped[int] = mapped_column(Integer, nullable=False, default=12)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Set on a requalification course: the full course whose certificate it renews (FAW
    # requalification -> First Aid at Work). Booking one asks for each attendee's current
    # certificate expiry date, and an expired one is sent to this course instead.
    requalifies_course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id"), nullable=True, index=True)

    sessions = relationship("CourseSession", back_populates="course", lazy="raise_on_sql")
    requalifies = relationship("Course", remote_side=[id], lazy="select")

    @property
    def is_requalification(self) -> bool:
        return self.requalifies_course_id is not None

    @property
    def full_course_id(self) -> int:
        """The full course this one's certificate belongs to: itself, or the one it renews."""
        return self.requalifies_course_id or self.id

    @property
    def minutes_per_day(self) -> int:
        """Contact minutes each day must give, whole minutes rounded up, so the days
        together never fall short of duration_hours."""
        return -(-self.duration_hours * 60 // max(1, self.duration_days))

    @property
    def length_text(self) -> str:
        """'1 day, 6 hours' or '3 days, 18 hours'."""
        days, hours = self.duration_days, self.duration_hours
        return f"{days} day{'' if days == 1 else 's'}, {hours} hour{'' if hours == 1 else 's'}"

    def __repr__(self) -> str:
        return f"<Course {self.slug}>"
