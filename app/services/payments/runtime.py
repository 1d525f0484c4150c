"""The payment objects of one application: settings, breakers and the gateway.

`init_app(app)` builds them from the app's config (the gateway lazily, on
first use, so an app that never pays never touches Redis) and installs them
for the services, which reach them through `runtime()` (see
app.services.core.installed). Tests get fresh
breakers with each app.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.models import Severity
from app.services.bookings.holds import BookingPolicy
from app.services.core.installed import Installed
from app.services.payments.breakers import STATE_CLOSED, STATE_OPEN, Breakers
from app.services.payments.fake_gateway import FakeGateway
from app.services.payments.gateway import PaymentGateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentSettings:
    provider: str                  # stripe or fake
    webhook_secret: str
    secret_key: str

    @classmethod
    def from_config(cls, config: Mapping) -> "PaymentSettings":
        provider = config.get("PAYMENT_PROVIDER", "fake")
        secret = config.get("STRIPE_WEBHOOK_SECRET") or ""
        if not secret and provider == "fake":
            # The fake provider signs its own events; without a configured secret it
            # uses one derived from SECRET_KEY, which nobody outside can forge.
            secret = "whsec_fake_" + hmac.new(config["SECRET_KEY"].encode(), b"fake-webhooks",
                                              hashlib.sha256).hexdigest()[:32]
        return cls(provider=provider, webhook_secret=secret, secret_key=config["SECRET_KEY"])


class PaymentsRuntime:
    def __init__(self, config: Mapping, *, redis_client=None):
        self.settings = PaymentSettings.from_config(config)
        self.booking_policy = BookingPolicy.from_config(config)
        self._config = config
        self.breakers = Breakers(config, redis_client=redis_client,
                                 on_change=_alert_on_breaker_change)
        self._gateway: PaymentGateway | None = None
        self._lock = threading.Lock()

    @property
    def gateway(self) -> PaymentGateway:
        with self._lock:
            if self._gateway is None:
                self._gateway = self._build_gateway()
            return self._gateway

    def _build_gateway(self) -> PaymentGateway:
        if self.settings.provider == "stripe":
            # Imported here: the Stripe SDK is large and only this provider needs it.
            from app.services.payments.stripe_gateway import StripeGateway, StripeSettings

            return StripeGateway(StripeSettings.from_config(self._config), self.breakers)
        return FakeGateway(self.settings.secret_key, self.breakers)


_installed: Installed[PaymentsRuntime] = Installed("payments runtime")


def init_app(app, *, redis_client=None) -> PaymentsRuntime:
    """Build the Flask app's payment objects from its config and install them."""
    return _installed.install(PaymentsRuntime(app.config, redis_client=redis_client))


def runtime() -> PaymentsRuntime:
    """This process's application's payment objects (installed by `init_app`)."""
    return _installed.get()


def breaker_states() -> dict[str, str]:
    """``{"payments": "closed", "refunds": "open", "webhooks": "half-open"}`` for health
    checks and metrics (shared across processes when REDIS_URL is set)."""
    return runtime().breakers.states()


def _alert_on_breaker_change(name: str, old: str, new: str, opened_at: datetime | None) -> None:
    """Listener side effect (run outside the breaker's lock): the breaker rule's
    alert is raised as soon as a breaker opens (one open alert per breaker, however
    many processes notice) and resolved when a trial call closes it again."""
    from app.services.core.alerts import raise_alert, resolve_alert

    if new == STATE_OPEN:
        raise_alert(BREAKER_ALERT_KIND, breaker_open_message(name), severity=Severity.CRITICAL,
                    subject=name)
    elif new == STATE_CLOSED and old:
        resolve_alert(BREAKER_ALERT_KIND, name)


BREAKER_ALERT_KIND = "payments.breaker_open"

_BREAKER_WHAT = {
    "payments": "Card payments (Stripe Checkout) are failing",
    "refunds": "Refunds through Stripe are failing",
    "webhooks": "Stripe payment confirmations cannot be saved (database errors)",
}


def breaker_open_message(name: str) -> str:
    what = _BREAKER_WHAT.get(name, f"Calls to {name} are failing")
    return (f"{what}, so they are paused for now and retried automatically. Bookings keep "
            "their held seats; queued refunds and payment links go out once it recovers.")
