"""Every form and API endpoint, sent the hostile-input corpus (tests/fuzz/corpus.py).

Routes come from `app.url_map`, so a new form is covered the day it is added. Each
surface (public forms, staff forms, the API) is one test that sends everything,
then fails listing each bad answer with its request: no 5xx, no payload reflected
as live markup (and, after the staff forms stored what they accepted, none on any
page), and no row changed by a request that was refused (4xx). The totals are
printed (`-s`) and summed in the run's summary (tests/conftest.py).
"""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from flask import url_for

from app.extensions import db
from app.models import (
    BookingStatus, CreditNote, DiscountCode, DiscountKind, Enquiry, Invoice, WaitlistEntry,
    utcnow,
)
from app.services.core.tokens import manage_token

from factories import AttendeeFactory, BookingFactory, SessionFactory
from fuzz.corpus import (
    JSON_VALUES, PATH_SEGMENTS, RAW_BODIES, SQL, UNICODE, VALUES, XSS, Snapshot, Tally,
    encodable, problems, reflected_markup,
)

SKIPPED_PREFIXES = ("/static", "/ws/", "/api/", "/metrics", "/health")
FORM_FIELDS = sorted({
    "access_needs", "accessibility_notes", "address_line1", "address_line2", "amount",
    "capacity", "category", "certificate_validity_months", "company", "confirm", "confirmed",
    "contact", "course_id", "date", "default_capacity", "description", "duration_days",
    "duration_hours", "email", "end_time", "full_name", "hours", "is_active", "method", "name",
    "next", "note", "occurrences", "password", "password_confirm", "phone", "postcode", "price",
    "reason", "refund", "repeat", "seats", "send_key", "session_id", "slug", "start_time",
    "subject", "summary", "text", "title", "town", "trainer_id", "venue_id", "token", "number",
    "q", "status", "field", "value", "attendees-0-full_name", "attendees-0-email", "present",
    "contact-name", "contact-email", "contact-phone", "contact-postcode", "position", "seats_to",
    "discount_code", "accept_terms", "code", "percent", "amount_pence", "max_uses",
    "max_uses_per_email", "valid_from", "valid_until", "courses",
    "course", "learners", "preferred_dates", "message", "body",
    "payment_method", "purchase_order", "billing-company", "billing-name", "billing-email",
    "billing-address",
})
_FIELD_NAME = re.compile(r"""<(?:input|select|textarea)\b[^>]*\bname=["']([^"']+)["']""", re.I)
PUBLIC_VALUES = [v for v in VALUES if encodable(v)]
STAFF_VALUES = XSS[:5] + SQL[:2] + UNICODE[:5] + ["-1", "99999999999999999999", "A" * 10_000]


@pytest.fixture
def world(app, trainer_user):
    """An upcoming session with a held and a confirmed booking, and a session running
    today for the signed-in trainer with one attendee; their ids fill route parameters."""
    now = utcnow()
    upcoming = SessionFactory(capacity=12)
    held = BookingFactory(session=upcoming, status=BookingStatus.HELD)
    AttendeeFactory(booking=held, full_name="Hana Held")
    confirmed = BookingFactory(session=upcoming, confirmed_at=now)
    AttendeeFactory(booking=confirmed, full_name="Cara Confirmed")
    today = SessionFactory(trainer=trainer_user, course__duration_hours=2,
                           starts_at=now - timedelta(hours=2), ends_at=now + timedelta(minutes=30))
    attendee = AttendeeFactory(booking=BookingFactory(session=today, confirmed_at=now))
    waitlist = WaitlistEntry(session_id=upcoming.id, name="Wendy Wait", email="w@example.com",
                             seats=1)
    db.session.add(waitlist)
    private = SessionFactory(is_private=True, private_token="corpus-private-token-0123456789")
    enquiry = Enquiry(course_id=upcoming.course.id, learners=6, preferred_dates="Any Monday",
                      site_postcode="LS1 4AP", contact_name="Erin Enquirer",
                      contact_email="erin@example.com", contact_phone="+447700900123",
                      company="Acme Ltd")
    db.session.add(enquiry)
    discount = DiscountCode(code="CORPUS10", kind=DiscountKind.PERCENT, percent=10)
    db.session.add(discount)
    invoice = Invoice(sequence=1, number="INV-000001", booking_id=confirmed.id,
                      issued_on=now.date(), due_on=now.date(), billing_company="Acme",
                      billing_name="Jo Accounts", billing_email="jo@example.com",
                      billing_address="Leeds", supplier_name="Us", supplier_address="York",
                      vat_rate_percent=20, net_pence=100, vat_pence=20, gross_pence=120)
    invoice.credit_notes = [CreditNote(sequence=1, number="CN-000001", issued_on=now.date(),
                                       reason="test", net_pence=10, vat_pence=2,
                                       gross_pence=12)]
    db.session.add(invoice)
    db.session.commit()
    return {
        "session_id": today.id, "attendee_id": attendee.id, "reference": confirmed.reference,
        "course_id": upcoming.course.id, "slug": upcoming.course.slug,
        "venue_id": upcoming.venue.id, "user_id": trainer_user.id, "entry_id": waitlist.id,
        "alert_id": 1, "delivery_id": 1, "number": "CERT-0001", "checkout_id": "nope",
        "token": "not-a-reset-token", "filename": "x", "table": "sales-by-course",
        "_upcoming": upcoming.id, "_held": held.reference,
        "private_token": private.private_token, "enquiry_id": enquiry.id,
        "code_id": discount.id,
        "invoice_number": invoice.number, "credit_note_number": "CN-000001",
    }


def routes(app, prefixes: tuple[str, ...] | None, methods: set[str]):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(SKIPPED_PREFIXES):
            continue
        if prefixes is not None and not rule.rule.startswith(prefixes):
            continue
        if prefixes is None and rule.rule.startswith(("/admin", "/trainer")):
            continue
        for method in sorted(rule.methods & methods):
            yield rule, method


def build(app, rule, values: dict) -> str:
    """The route's URL for the world's objects; a manage link carries its token."""
    args = {name: values[name] for name in rule.arguments}
    if "session_id" in args and rule.endpoint.startswith(("booking.", "public.")):
        args["session_id"] = values["_upcoming"]  # the public pages of the bookable session
    with app.test_request_context():
        url = url_for(rule.endpoint, **args)
    if "reference" in args and rule.rule.startswith("/bookings/"):
        url += "?token=" + manage_token(args["reference"], secret_key=app.config["SECRET_KEY"])
    return url


def path_variants(app, rule, values: dict):
    """The route's URL with each hostile segment in place of each parameter."""
    with app.test_request_context():
        for name in rule.arguments:
            for segment in PATH_SEGMENTS:
                parts = []
                for part in re.split(r"(<[^>]+>)", rule.rule):
                    if part.startswith("<"):
                        arg = part.strip("<>").split(":")[-1]
                        parts.append(segment if arg == name else quote(str(values.get(arg, 1))))
                    else:
                        parts.append(part)
                yield "".join(parts)


class Sender:
    def __init__(self, tally: Tally, snapshot: Snapshot, *, json_api: bool = False):
        self.tally, self.snapshot, self.json_api = tally, snapshot, json_api

    def send(self, client, method: str, url: str, label: str, **kwargs):
        before = self.snapshot.take()
        request = f"{method} {url[:160]} [{label}]"
        try:
            response = client.open(url, method=method, **kwargs)
        except Exception as exc:  # escaped the app's error handlers: as bad as a 500
            self.tally.requests += 1
            self.tally.statuses[599] += 1
            self.tally.failures.append(f"{request}: raised {type(exc).__name__}: {exc}"[:400])
            return None
        found = problems(response, json_api=self.json_api)
        if 400 <= response.status_code < 500:
            changed = self.snapshot.changes(before, self.snapshot.take())
            if changed:
                found.append(f"refused with {response.status_code} but changed {changed}")
        self.tally.record(request, response, found)
        return response


def form_fields(client, url: str, can_get: bool) -> list[str]:
    names = set(FORM_FIELDS)
    if can_get:
        page = client.get(url)
        if page.status_code == 200 and page.mimetype == "text/html":
            names |= set(_FIELD_NAME.findall(page.get_data(as_text=True)))
    names.discard("csrf_token")
    return sorted(names)


def send_forms(app, sender: Sender, client_for, prefixes, values: dict, payloads: list[str]):
    for rule, method in routes(app, prefixes, {"POST"}):
        client = client_for(rule.rule)
        url = build(app, rule, values)
        fields = form_fields(client, url, "GET" in rule.methods)
        for payload in payloads:
            sender.send(client, "POST", url, f"every field = {payload[:40]!r}",
                        data={name: payload for name in fields})
        for raw in RAW_BODIES:
            sender.send(client, "POST", url, raw.name, data=raw.data,
                        content_type=raw.content_type)
        sender.send(client, "POST", url, "HTMX, every field = script",
                    data={name: XSS[0] for name in fields}, headers={"HX-Request": "true"})


def send_queries_and_paths(app, sender: Sender, client_for, prefixes, values: dict,
                           payloads: list[str]):
    for rule, method in routes(app, prefixes, {"GET"}):
        client = client_for(rule.rule)
        url = build(app, rule, values)
        joiner = "&" if "?" in url else "?"
        for payload in payloads:
            query = "&".join(f"{name}={quote(payload, safe='')}" for name in
                             ("q", "page", "course", "town", "from", "to", "month", "status",
                              "type", "next", "number", "per_page", "venue", "trainer"))
            sender.send(client, "GET", url + joiner + query, f"query = {payload[:40]!r}")
    for rule, method in routes(app, prefixes, {"GET", "POST"}):
        if rule.arguments:
            client = client_for(rule.rule)
            for url in path_variants(app, rule, values):
                sender.send(client, method, url, "hostile path segment")


def test_public_forms_survive_the_hostile_corpus(app, client, world, record_property):
    """Booking form and its as-you-type validation, manage actions, sign-in, password
    reset, certificate lookup, fake checkout."""
    tally = Tally()
    sender = Sender(tally, Snapshot())
    send_forms(app, sender, lambda rule: client, None, world, PUBLIC_VALUES)
    held = dict(world, reference=world["_held"])  # the pay and cancel forms of a held booking
    send_forms(app, sender, lambda rule: client, ("/bookings/",), held, XSS + SQL)
    send_queries_and_paths(app, sender, lambda rule: client, None, world, STAFF_VALUES)
    tally.report(record_property, "public forms")
    assert not tally.failures, f"{len(tally.failures)} bad answers:\n" + "\n".join(tally.failures)


def test_staff_forms_survive_the_hostile_corpus_and_store_no_live_markup(
        app, admin_client, trainer_client, world, record_property):
    """Every admin form (as an admin) and trainer form (as the session's trainer); then
    every staff and public page is read back: what the forms stored is shown escaped."""
    tally = Tally()
    sender = Sender(tally, Snapshot())

    def client_for(rule: str):
        return trainer_client if rule.startswith("/trainer") else admin_client

    send_forms(app, sender, client_for, ("/admin", "/trainer"), world, STAFF_VALUES)
    send_queries_and_paths(app, sender, client_for, ("/admin", "/trainer"), world,
                           STAFF_VALUES[:6])
    for rule, _ in routes(app, ("/admin", "/trainer"), {"GET"}):
        if not rule.arguments or all(name in world for name in rule.arguments):
            sender.send(client_for(rule.rule), "GET", build(app, rule, world), "read back")
    for path in ("/", "/courses", "/sessions", f"/sessions/{world['_upcoming']}"):
        sender.send(admin_client, "GET", path, "read back")
    tally.report(record_property, "staff forms")
    assert not tally.failures, f"{len(tally.failures)} bad answers:\n" + "\n".join(tally.failures)


def test_the_checks_catch_live_markup_but_not_escaped_markup():
    assert reflected_markup(f"<p>{XSS[0]}</p>") is not None
    assert reflected_markup('<a href="javascript:alert(31337)">') is not None
    assert reflected_markup("<p>&lt;script&gt;alert(31337)&lt;/script&gt;</p>") is None


def test_the_snapshot_sees_a_new_row_and_a_changed_one(app, world):
    snapshot = Snapshot()
    before = snapshot.take()
    SessionFactory()
    assert "course_sessions rows" in snapshot.changes(before, snapshot.take())
    before = snapshot.take()
    waitlist = db.session.get(WaitlistEntry, world["entry_id"])
    waitlist.name = "Someone Else"
    db.session.commit()
    assert snapshot.changes(before, snapshot.take()) == ["waitlist_entries updated"]


def _booking_body(session_id: int) -> dict:
    return {"session_id": session_id,
            "contact": {"name": "Priya Shah", "email": "priya@example.com",
                        "phone": "07700 900123", "postcode": "LS1 4AP", "company": "Acme"},
            "attendees": [{"name": "Sam Jones", "email": "sam@example.com"}],
            "accept_terms": True}


def _with(body: dict, path: tuple, value) -> object:
    if not path:
        return value
    copy = {**body, "contact": dict(body["contact"]),
            "attendees": [dict(a) for a in body["attendees"]]}
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


JSON_PATHS = [(), ("session_id",), ("contact",), ("contact", "name"), ("contact", "email"),
              ("contact", "phone"), ("contact", "postcode"), ("contact", "company"),
              ("attendees",), ("attendees", 0), ("attendees", 0, "name"),
              ("attendees", 0, "email"), ("discount_code",), ("accept_terms",),
              ("payment_method",), ("purchase_order",), ("billing",)]


def test_the_api_survives_the_hostile_corpus(app, client, world, record_property):
    tally = Tally()
    sender = Sender(tally, Snapshot(), json_api=True)
    base = _booking_body(world["_upcoming"])
    for path in JSON_PATHS:
        for value in JSON_VALUES:
            sender.send(client, "POST", "/api/v1/bookings", f"{'.'.join(map(str, path)) or 'body'}"
                        f" = {str(value)[:40]!r}", json=_with(base, path, value))
    for raw in RAW_BODIES:
        sender.send(client, "POST", "/api/v1/bookings", raw.name, data=raw.data,
                    content_type=raw.content_type)
    waitlist_url = f"/api/v1/sessions/{world['_upcoming']}/waitlist"
    for key in ("name", "email", "seats"):
        for value in JSON_VALUES:
            sender.send(client, "POST", waitlist_url, f"waitlist {key} = {str(value)[:40]!r}",
                        json={"name": "Ann Waiting", "email": "ann@example.com", "seats": 99,
                              key: value})
    for raw in RAW_BODIES:
        sender.send(client, "POST", waitlist_url, raw.name, data=raw.data,
                    content_type=raw.content_type)
    for key in ["", " ", "k" * 256, *XSS[:2], "\u202ekey", "caf\u00e9", "a\tb"]:
        sender.send(client, "POST", "/api/v1/bookings", f"Idempotency-Key = {key[:20]!r}",
                    json={"session_id": -1}, headers={"Idempotency-Key": key})
    for name in ("course", "town", "from", "to", "month", "page", "per_page", "unknown"):
        for value in PUBLIC_VALUES:
            sender.send(client, "GET", f"/api/v1/sessions?{name}={quote(value, safe='')}",
                        f"{name} = {value[:40]!r}")
    reference = world["reference"]
    for value in PUBLIC_VALUES + PATH_SEGMENTS:
        token = quote(value, safe="")
        sender.send(client, "GET", f"/api/v1/bookings/{reference}?token={token}", "token")
        sender.send(client, "POST", f"/api/v1/bookings/{reference}/cancel?token={token}", "token")
    for segment in PATH_SEGMENTS:
        sender.send(client, "GET", f"/api/v1/bookings/{segment}?token=x", "reference")
        sender.send(client, "POST", f"/api/v1/bookings/{segment}/cancel?token=x", "reference")
        sender.send(client, "GET", f"/api/v1/sessions/{segment}", "session id")
    for path in ("/api/v1/courses", "/api/v1/sessions", "/api/v1/openapi.json"):
        sender.send(client, "POST", path, "wrong method", json={"a": 1})
        sender.send(client, "GET", path + "?" + "&".join(f"p{i}=1" for i in range(500)),
                    "many parameters")
    tally.report(record_property, "API")
    assert not tally.failures, f"{len(tally.failures)} bad answers:\n" + "\n".join(tally.failures)
