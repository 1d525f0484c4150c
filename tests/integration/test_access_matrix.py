"""Who may use every admin and trainer route, generated from the URL map.

The list of routes is read from `app.url_map` (every rule under /admin or
/trainer, every method but HEAD and OPTIONS), so a new route is tested the
moment it is registered: for anonymous visitors (sent to sign in, never
served), for trainers (403 on every admin route), for admins, and, for
trainer routes that take ids, for a trainer reaching for another trainer's
session (404, and none of its data).

URLs are built with the ids of real objects (PARAMETER_VALUES). A route with
a parameter this file has no value for is skipped with the reason, and
`test_every_staff_route_can_be_built` fails until a value is added here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from werkzeug.routing import IntegerConverter

from app import create_app
from app.extensions import db
from app.models import (
    Alert, AuditLog, CreditNote, DiscountCode, Invoice, DiscountKind, OutboxDelivery, OutboxEvent, Payment, PaymentStatus, Refund, Role, Severity,
    Enquiry, WaitlistEntry, utcnow,
)
from app.models.outbox import DeliveryStatus

from factories import AttendeeFactory, BookingFactory, SessionFactory

STAFF_PREFIXES = ("/admin", "/trainer")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
NEVER = {500, 502, 503}


@dataclass(frozen=True)
class Route:
    endpoint: str
    rule: str
    method: str

    @property
    def is_admin(self) -> bool:
        return self.rule.startswith("/admin")

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def staff_routes(app) -> list[Route]:
    routes = {Route(rule.endpoint, rule.rule, method)
              for rule in app.url_map.iter_rules()
              if rule.rule.startswith(STAFF_PREFIXES)
              for method in rule.methods - SKIPPED_METHODS}
    return sorted(routes, key=lambda r: (r.rule, r.method))


def _routes_at_collection() -> list[Route]:
    # Only the URL map is read; no database is opened. (The fixtures' config lives in
    # tests/conftest.py, which cannot be imported by name: tests/e2e has a conftest too.)
    app = create_app({"APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "routes-only",
                      "SQLALCHEMY_DATABASE_URI": "sqlite://", "PAYMENT_PROVIDER": "fake",
                      "SEED_DEMO": False, "MAIL_BACKEND": "locmem",
                      "RUN_WORKER_IN_PROCESS": False, "RATELIMIT_ENABLED": False})
    return staff_routes(app)


ROUTES = _routes_at_collection()
ADMIN_ROUTES = [r for r in ROUTES if r.is_admin]
TRAINER_ROUTES = [r for r in ROUTES if not r.is_admin]


@pytest.fixture(autouse=True)
def once_on_sqlite(request):
    """Who may open which route is decided before the database is read, so one backend
    is enough; the pages themselves are tested on both in their own modules."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("database_url") == "postgresql":
        pytest.skip("the access matrix runs once, on SQLite")


# -- the objects URLs are built with ------------------------------------------------------------
@dataclass
class World:
    """Trainer A (signed in as `trainer_client`) and trainer B each have a session
    running today with one confirmed attendee; plus one of everything an admin
    page may take an id of."""

    trainer_a: object
    trainer_b: object
    session_a: object
    session_b: object
    booking_a: object
    booking_b: object
    attendee_a: object
    attendee_b: object
    values: dict  # parameter name -> value, for trainer A's side (and admin routes)
    values_b: dict  # the same names -> trainer B's objects


B_NAME = "Bertha Belongs-To-B"
B_PHONE = "+447700900999"


@pytest.fixture
def world(app, trainer_user, staff_user) -> World:
    # Built, then written in one commit: this runs for every test below.
    now = utcnow()
    trainer_b = staff_user(Role.TRAINER, full_name="Bram Other-Trainer")

    def running_today(trainer):
        return SessionFactory.build(trainer=trainer, course__duration_hours=2,
                                    starts_at=now - timedelta(hours=2),
                                    ends_at=now + timedelta(minutes=30))

    session_a, session_b = running_today(trainer_user), running_today(trainer_b)
    booking_a = BookingFactory.build(session=session_a, confirmed_at=now)
    booking_b = BookingFactory.build(session=session_b, confirmed_at=now, contact_phone=B_PHONE,
                                     contact_name="Barnaby Contact")
    attendee_a = AttendeeFactory.build(booking=booking_a, full_name="Ada Belongs-To-A",
                                       certificate_number="RFT-2601-MATRIX",
                                       certificate_issued_on=now.date(),
                                       certificate_expires_on=now.date() + timedelta(days=1095))
    attendee_b = AttendeeFactory.build(booking=booking_b, full_name=B_NAME,
                                       access_needs="B's private access needs")
    db.session.add_all([session_a, session_b, booking_a, booking_b, attendee_a, attendee_b])
    db.session.flush()

    waitlist = WaitlistEntry(session_id=session_a.id, name="Wendy Wait", email="w@example.com",
                             seats=1)
    alert = Alert(kind="test", severity=Severity.WARNING, message="Test alert")
    event = OutboxEvent(event_type="Probe", aggregate_id="1", payload={})
    payment = Payment(booking_id=booking_a.id, provider="fake", amount_pence=booking_a.amount_pence,
                      status=PaymentStatus.SUCCEEDED, paid_at=now)
    db.session.add_all([waitlist, alert, event, payment])
    db.session.flush()
    delivery = OutboxDelivery(event_id=event.id, handler="test.probe", status=DeliveryStatus.DEAD,
                              attempts=8)
    refund = Refund(booking_id=booking_a.id, payment_id=payment.id, amount_pence=100,
                    reason="test")
    audit = AuditLog(actor_id=trainer_user.id, action="test", entity_type="session",
                     entity_id=str(session_a.id))
    discount = DiscountCode(code="MATRIX10", kind=DiscountKind.PERCENT, percent=10)
    db.session.add_all([delivery, refund, audit, discount])
    invoice = Invoice(sequence=1, number="INV-000001", booking_id=booking_a.id,
                      issued_on=now.date(), due_on=now.date(), billing_company="Acme",
                      billing_name="Jo Accounts", billing_email="jo@example.com",
                      billing_address="Leeds", supplier_name="Us", supplier_address="York",
                      vat_rate_percent=20, net_pence=100, vat_pence=20, gross_pence=120)
    invoice.credit_notes = [CreditNote(sequence=1, number="CN-000001", issued_on=now.date(),
                                       reason="test", net_pence=10, vat_pence=2,
                                       gross_pence=12)]
    db.session.add(invoice)
    enquiry = Enquiry(course_id=session_a.course_id, learners=6, preferred_dates="Any Monday",
                      site_postcode="LS1 4AP", contact_name="Erin Enquirer",
                      contact_email="erin@example.com", contact_phone="+447700900123",
                      company="Acme Ltd")
    db.session.add(enquiry)
    db.session.commit()

    course, venue = session_a.course, session_a.venue
    values = {
        "session_id": session_a.id, "attendee_id": attendee_a.id, "booking_id": booking_a.id,
        "reference": booking_a.reference, "course_id": course.id, "slug": course.slug,
        "venue_id": venue.id, "user_id": trainer_b.id, "trainer_id": trainer_b.id,
        "entry_id": waitlist.id, "waitlist_id": waitlist.id, "waitlist_entry_id": waitlist.id,
        "delivery_id": delivery.id, "event_id": event.id, "alert_id": alert.id,
        "payment_id": payment.id, "refund_id": refund.id, "audit_id": audit.id,
        "code_id": discount.id,
        "invoice_number": invoice.number, "credit_note_number": "CN-000001",
        "table": "sales-by-course",  # an analytics export
        "enquiry_id": enquiry.id,
        "number": attendee_a.certificate_number,  # a certificate from the trainer's session
    }
    values_b = {"session_id": session_b.id, "attendee_id": attendee_b.id,
                "booking_id": booking_b.id, "reference": booking_b.reference}
    return World(trainer_user, trainer_b, session_a, session_b, booking_a, booking_b,
                 attendee_a, attendee_b, values, values_b)


def _rule(app, route: Route):
    return next(r for r in app.url_map.iter_rules()
                if r.endpoint == route.endpoint and r.rule == route.rule)


def build_url(app, route: Route, values: dict) -> str:
    """The route's URL with `values` for its parameters; skips (with the reason) if
    a parameter has no value here."""
    rule = _rule(app, route)
    missing = unbuildable_parameters(rule, values)
    if missing:
        pytest.skip(f"{route}: no test object for parameter(s) {', '.join(missing)}; "
                    "add them to World.values in tests/integration/test_access_matrix.py")
    with app.test_request_context():
        from flask import url_for

        return url_for(route.endpoint, **{name: values[name] for name in rule.arguments})


def unbuildable_parameters(rule, values: dict) -> list[str]:
    missing = []
    for name in sorted(rule.arguments):
        if name not in values:
            missing.append(f"{name} ({type(rule._converters[name]).__name__})")
        elif isinstance(rule._converters[name], IntegerConverter) \
                and not isinstance(values[name], int):
            missing.append(f"{name} (an int is needed)")
    return missing


def call(client, route: Route, url: str, **kwargs):
    return client.open(url, method=route.method, **kwargs)


# -- the list itself ------------------------------------------------------------------------------
def test_the_list_of_staff_routes_is_read_from_the_url_map(app):
    assert staff_routes(app) == ROUTES
    assert {"trainer.index", "trainer.roster", "trainer.mark_attendance",
            "trainer.complete", "trainer.roster_csv", "trainer.roster_pdf"} <= \
        {r.endpoint for r in TRAINER_ROUTES}


def test_every_staff_route_can_be_built(app, world):
    unbuildable = {str(route): unbuildable_parameters(_rule(app, route), world.values)
                   for route in ROUTES}
    assert {route: params for route, params in unbuildable.items() if params} == {}


# -- anonymous ---------------------------------------------------------------------------------
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_anonymous_visitors_are_sent_to_sign_in(app, client, world, route):
    url = build_url(app, route, world.values)
    response = call(client, route, url)
    if route.method == "GET":
        assert response.status_code == 302, f"{route} answered {response.status_code}"
        assert response.headers["Location"].startswith("/login?next=")
    else:
        assert response.status_code in (302, 303, 401, 403), \
            f"{route} answered {response.status_code}"
        if response.status_code in (302, 303):
            assert response.headers["Location"].startswith("/login")
    # HTMX requests get 401 and HX-Redirect instead, so no fragment becomes a login page.
    htmx = call(client, route, url, headers={"HX-Request": "true"})
    assert htmx.status_code in (401, 403), f"{route} (HTMX) answered {htmx.status_code}"


# -- trainers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("route", ADMIN_ROUTES or [pytest.param(None, marks=pytest.mark.skip(
    reason="no /admin routes registered yet"))], ids=str)
def test_trainers_get_403_on_every_admin_route(app, trainer_client, world, route):
    response = call(trainer_client, route, build_url(app, route, world.values))
    assert response.status_code == 403, f"{route} answered {response.status_code}"


@pytest.mark.parametrize("route", TRAINER_ROUTES, ids=str)
def test_trainers_may_use_the_trainer_routes_for_their_own_sessions(app, trainer_client, world,
                                                                   route):
    response = call(trainer_client, route, build_url(app, route, world.values))
    assert response.status_code not in {401, 403, 404} | NEVER, \
        f"{route} answered {response.status_code}"


ID_TRAINER_ROUTES = [r for r in TRAINER_ROUTES if "<" in r.rule]


@pytest.mark.parametrize("route", ID_TRAINER_ROUTES, ids=str)
def test_a_trainer_cannot_reach_another_trainers_session(app, trainer_client, world, route):
    """IDOR: trainer A with trainer B's ids gets 404 (or 403) and none of B's data."""
    response = call(trainer_client, route, build_url(app, route, world.values_b),
                    headers={"HX-Request": "true"} if route.method == "POST" else {})
    assert response.status_code in (403, 404), f"{route} answered {response.status_code}"
    body = response.get_data(as_text=True)
    for secret in (B_NAME, "07700 900999", B_PHONE, "Barnaby Contact", "private access needs"):
        assert secret not in body
    db.session.expire_all()
    assert db.session.get(type(world.attendee_b), world.attendee_b.id).attended is None
    assert db.session.get(type(world.session_b), world.session_b.id).status.value == "scheduled"


@pytest.mark.parametrize("route", [r for r in ID_TRAINER_ROUTES if "attendee_id" in r.rule],
                         ids=str)
def test_another_trainers_attendee_cannot_be_reached_through_my_session(
        app, trainer_client, world, route):
    mixed = {**world.values, "attendee_id": world.attendee_b.id}
    response = call(trainer_client, route, build_url(app, route, mixed),
                    data={"attended": "present"})
    assert response.status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(type(world.attendee_b), world.attendee_b.id).attended is None


def test_unknown_and_foreign_session_ids_look_the_same(trainer_client, world):
    foreign = trainer_client.get(f"/trainer/sessions/{world.session_b.id}")
    unknown = trainer_client.get("/trainer/sessions/987654")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.get_data(as_text=True) == unknown.get_data(as_text=True)


# -- admins ------------------------------------------------------------------------------------
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_admins_are_let_in_everywhere(app, admin_client, world, route):
    response = call(admin_client, route, build_url(app, route, world.values))
    assert response.status_code not in {401, 403} | NEVER, \
        f"{route} answered {response.status_code}"
    if response.status_code in (301, 302, 303):
        assert not response.headers["Location"].startswith("/login")


def test_a_deactivated_admin_is_refused(app, admin_client, admin_user, world):
    from app.services.staff.accounts import deactivate_staff_user

    deactivate_staff_user(admin_user.email)
    response = admin_client.get("/trainer/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
