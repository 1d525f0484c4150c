"""Features an administrator switches on and off without a restart.

Each switch's default is its environment variable (``INVOICE_PAYMENTS_ENABLED``,
``DISCOUNTS_ENABLED``, ``WAITLIST_ENABLED``), read once at start into the
installed `SwitchDefaults`; a row in ``site_switches``, set from the admin
settings page, overrides it for every process at once. Every service that
offers a switched feature asks `is_on(NAME)`: the one place the rule lives.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.models import SiteSwitch
from app.repositories.base import unit_of_work
from app.repositories.switches import SwitchRepository
from app.services.core.audit import record_audit
from app.services.core.errors import NotFound
from app.services.core.installed import Installed


@dataclass(frozen=True)
class Switch:
    name: str
    label: str
    description: str


SWITCHES: dict[str, Switch] = {switch.name: switch for switch in (
    Switch("INVOICE_PAYMENTS_ENABLED", "Pay by invoice",
           "Companies may choose to be invoiced instead of paying by card."),
    Switch("DISCOUNTS_ENABLED", "Discount codes",
           "Customers may enter a discount code when booking."),
    Switch("WAITLIST_ENABLED", "Public waiting list",
           "Customers may join the waiting list of a full session and are offered "
           "freed seats in turn."),
)}


@dataclass(frozen=True)
class SwitchDefaults:
    """Each switch's value when no administrator has set it: its environment variable."""

    values: Mapping[str, bool]

    @classmethod
    def from_config(cls, config: Mapping) -> "SwitchDefaults":
        return cls({name: bool(config.get(name, True)) for name in SWITCHES})


_defaults: Installed[SwitchDefaults] = Installed("set of switch defaults")
install = _defaults.install


@dataclass(frozen=True)
class SwitchState:
    switch: Switch
    enabled: bool
    set_by_admin: bool
    default: bool


def _switch(name: str) -> Switch:
    try:
        return SWITCHES[name]
    except KeyError:
        raise NotFound(f"There is no setting called {name!r}.") from None


def is_on(name: str) -> bool:
    """Whether a switched feature is on now: the administrator's choice, else the default."""
    _switch(name)
    row = SwitchRepository().get_by_name(name)
    if row is not None:
        return row.enabled
    return _defaults.get().values[name]


def states() -> list[SwitchState]:
    """Every switch with its current value and where that value comes from."""
    chosen = SwitchRepository().settings()
    defaults = _defaults.get().values
    return [SwitchState(switch, chosen.get(name, defaults[name]), name in chosen,
                        defaults[name]) for name, switch in SWITCHES.items()]


def set_switch(actor_id: int | None, name: str, enabled: bool) -> SwitchState:
    """Turn a feature on or off for every process, audited."""
    switch = _switch(name)
    with unit_of_work():
        repo = SwitchRepository()
        row = repo.get_by_name(name)
        before = {"enabled": row.enabled if row is not None else _defaults.get().values[name]}
        if row is None:
            row = repo.add(SiteSwitch(name=name, enabled=enabled, updated_by_id=actor_id))
        else:
            row.enabled = enabled
            row.updated_by_id = actor_id
        record_audit(actor_id, "setting.changed", "setting", name,
                     before=before, after={"enabled": enabled})
    return SwitchState(switch, enabled, True, _defaults.get().values[name])
