"""The switches an administrator has set."""
from __future__ import annotations

from app.models import SiteSwitch
from app.repositories.base import Repository


class SwitchRepository(Repository[SiteSwitch]):
    model = SiteSwitch

    def settings(self) -> dict[str, bool]:
        """Every switch set by hand, by name."""
        return {row.name: row.enabled for row in self.list()}

    def get_by_name(self, name: str) -> SiteSwitch | None:
        return self.session.get(SiteSwitch, name)
