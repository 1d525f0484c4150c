"""Venues where sessions run."""
from __future__ import annotations

from sqlalchemy import select

from app.models import Venue
from app.repositories.base import Repository


class VenueRepository(Repository[Venue]):
    model = Venue

    def towns(self) -> list[str]:
        """Every town with a venue, for filters."""
        stmt = select(Venue.town).where(Venue.deleted_at.is_(None)).distinct().order_by(Venue.town)
        return list(self.session.scalars(stmt))
