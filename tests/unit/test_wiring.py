"""Explicit wiring: importing a module registers nothing and loads no heavy
dependency; the app factory registers every outbox handler."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.services.core import events

ROOT = Path(__file__).resolve().parents[2]

# Every outbox handler the application has; a delivery row names one of these.
HANDLERS = {
    "email.admin_alert", "email.booking_cancelled", "email.booking_confirmed",
    "email.booking_transferred", "email.certificate_issued", "email.confirmation_resend",
    "email.hold_expired", "email.late_payment_refunded", "email.manage_link",
    "email.password_reset",
    "email.payment_failed", "email.payment_link", "email.refund_issued", "email.session_message",
    "email.session_cancelled", "email.session_changed", "email.waitlist_offer",
    "payments.refund_cancellation", "waitlist.offer_freed_seats",
    "email.invoice_issued", "invoices.credit_cancellation",
    "email.manage_link_requested", "email.certificate_resent",
    "email.enquiry_answer", "email.enquiry_office", "email.enquiry_received",
}

# Each in a fresh interpreter: the handler modules, the seat rules, and the
# modules that import most of the rest (the scheduler, the roster's documents).
SERVICE_MODULES = [
    "app.services.messaging.notifications", "app.services.bookings.holds",
    "app.services.payments.refunds", "app.services.background.scheduler",
    "app.services.staff.roster",
]


def run_python(code: str) -> dict:
    """Run `code` in a fresh interpreter (nothing imported yet); it prints JSON."""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


REPORT = """
import json, sys
from app.services.core import events
print(json.dumps({"handlers": sorted(events.registry.names()),
                  "stripe": "stripe" in sys.modules, "fpdf": "fpdf" in sys.modules}))
"""


@pytest.mark.parametrize("module", SERVICE_MODULES)
def test_importing_a_service_module_registers_no_handler_and_loads_neither_stripe_nor_fpdf(
        module):
    report = run_python(f"import {module}\n{REPORT}")
    assert report == {"handlers": [], "stripe": False, "fpdf": False}


def make_app(provider: str) -> str:
    return f"""
from app import create_app
app = create_app({{"APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "x",
                  "SQLALCHEMY_DATABASE_URI": "sqlite://", "PAYMENT_PROVIDER": "{provider}",
                  "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x",
                  "SEED_DEMO": False, "RUN_WORKER_IN_PROCESS": False}})
"""


def test_the_app_factory_registers_every_handler_without_loading_stripe_or_fpdf():
    report = run_python(make_app("fake") + REPORT)
    assert report == {"handlers": sorted(HANDLERS), "stripe": False, "fpdf": False}


def test_the_stripe_sdk_is_loaded_when_the_stripe_gateway_is_first_used():
    report = run_python(make_app("stripe") + """
from app.services.payments import runtime
with app.app_context():
    runtime().gateway
""" + REPORT)
    assert report["stripe"] is True


def test_a_handler_set_registers_nothing_until_added_to_the_registry():
    handlers = events.HandlerSet()

    @handlers.on("WiringProbe", name="test.wiring.probe")
    def probe(event):
        return None

    registry = events.HandlerRegistry()
    assert registry.handlers_for("WiringProbe") == []
    registry.register(handlers)
    registry.register(handlers)  # a second app in the same process: no change
    assert [h.name for h in registry.handlers_for("WiringProbe")] == ["test.wiring.probe"]


def test_two_different_handlers_under_one_name_are_refused():
    registry = events.HandlerRegistry()
    registry.register([events.Handler("test.same", frozenset({"A"}), lambda event: None)])
    with pytest.raises(ValueError, match="test.same"):
        registry.register([events.Handler("test.same", frozenset({"A"}), lambda event: None)])
