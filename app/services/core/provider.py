"""Who we are on emails, receipts and certificates, and the VAT arithmetic."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.services.core.installed import Installed
from app.services.core.links import base_url


@dataclass(frozen=True)
class Provider:
    name: str
    address: str
    email: str
    phone: str
    website: str
    vat_number: str
    vat_rate_percent: int = 20
    arrive_minutes_before: int = 15  # told on the booking pages, emails and calendar files

    @classmethod
    def from_config(cls, config: Mapping) -> "Provider":
        return cls(
            name=config["PROVIDER_NAME"],
            address=config["PROVIDER_ADDRESS"],
            email=config["PROVIDER_EMAIL"],
            phone=config["PROVIDER_PHONE"],
            website=base_url(config),
            vat_number=config["PROVIDER_VAT_NUMBER"],
            vat_rate_percent=config["VAT_RATE_PERCENT"],
            arrive_minutes_before=config.get("ARRIVE_MINUTES_BEFORE", 15),
        )

    @property
    def is_vat_registered(self) -> bool:
        return bool(self.vat_number)

    @property
    def vat_note(self) -> str:
        """What every price shown (pages, emails, receipts, invoices) says about VAT:
        our prices always include it when we charge it."""
        return "including VAT" if self.is_vat_registered else "no VAT is charged"


_installed: Installed[Provider] = Installed("provider")


def install(provider: Provider) -> Provider:
    return _installed.install(provider)


def current() -> Provider:
    """The provider `create_app` built from the configuration, for documents and
    emails made where no caller can pass it (outbox handlers, jobs)."""
    return _installed.get()


@dataclass(frozen=True)
class VatBreakdown:
    net_pence: int
    vat_pence: int
    gross_pence: int
    rate_percent: int


def vat_breakdown(gross_pence: int, rate_percent: int = 20) -> VatBreakdown:
    """Split a VAT-inclusive price: VAT = gross x rate / (100 + rate), to the
    nearest penny (half up), and net = gross - VAT, so the parts always add up."""
    vat = (gross_pence * rate_percent * 2 + (100 + rate_percent)) // (2 * (100 + rate_percent))
    return VatBreakdown(net_pence=gross_pence - vat, vat_pence=vat, gross_pence=gross_pence,
                        rate_percent=rate_percent)
