"""Courses in the catalogue."""
from __future__ import annotations

from app.models import Course
from app.repositories.base import Repository


class CourseRepository(Repository[Course]):
    model = Course

    def get_by_slug(self, slug: str, *, include_deleted: bool = False) -> Course | None:
        stmt = self.select(include_deleted=include_deleted).where(Course.slug == slug)
        return self.session.scalar(stmt)

    def list_active(self) -> list[Course]:
        return self.list(Course.is_active.is_(True), order_by=[Course.category, Course.title])
