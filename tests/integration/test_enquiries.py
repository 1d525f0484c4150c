"""On-site training enquiries: the public form (the project's field rules, messages
at the fields, a honeypot, a rate limit), the emails to the enquirer and the office,
and what admins do with one (answer, close, private session), each audited."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, CourseSession, Enquiry, EnquiryStatus, utcnow
from app.services.enquiries import office

from factories import CourseFactory, VenueFactory
from notify_helpers import BASE_URL, deliver_all

_FIELD_ERROR = re.compile(r'<p id="([\w-]+)-error" class="error-message" data-field-error>'
                          r'\s*<span class="visually-hidden">Error: </span>([^<]+)</p>')


@pytest.fixture
def app_config():
    return {"PUBLIC_BASE_URL": BASE_URL, "ADMIN_ALERT_EMAILS": "office@example.co.uk"}


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


@pytest.fixture
def course(app):
    return CourseFactory(slug="emergency-first-aid-at-work", title="Emergency First Aid at Work")


def valid_form(chosen, **changes) -> dict:
    return {"course": chosen.slug, "learners": "8", "preferred_dates": "Any Tuesday in March",
            "postcode": "ls1 4ap", "name": "Dana Boss", "email": "dana@example.com",
            "phone": "0113 496 0000", "company": "Acme Widgets Ltd",
            "message": "We have a meeting room\nfor twelve.", **changes}


def field_errors(response) -> dict[str, str]:
    return dict(_FIELD_ERROR.findall(response.get_data(as_text=True)))


def enquiry_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Enquiry))


def submit(client, course, **changes):
    response = client.post("/enquiries/new", data=valid_form(course, **changes))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return db.session.scalars(select(Enquiry).order_by(Enquiry.id.desc())).first()


# -- the public form ---------------------------------------------------------------------------
def test_the_home_page_offer_of_training_at_your_site_links_to_the_enquiry_form(client, course):
    home = client.get("/").get_data(as_text=True)
    assert 'href="/enquiries/new"' in home
    page = client.get("/enquiries/new")
    assert page.status_code == 200
    assert f'<option value="{course.slug}">' in page.get_data(as_text=True)


def test_a_valid_enquiry_is_stored_normalised_and_thanked(client, course):
    enquiry = submit(client, course)
    assert (enquiry.course_id, enquiry.learners, enquiry.site_postcode, enquiry.contact_phone,
            enquiry.status) == (course.id, 8, "LS1 4AP", "+441134960000", EnquiryStatus.OPEN)
    assert client.get("/enquiries/thanks").status_code == 200


@pytest.mark.parametrize("field,value,message", [
    ("postcode", "LS1 XYZ", "Enter a UK postcode, like LS1 4AP."),
    ("phone", "555-0100 ext 4", "Enter a UK phone number, like 07700 900123 or 0113 496 0000."),
    ("email", "dana@", "Enter an email address in the correct format, like name@example.com."),
    ("name", "D4na", "Use letters, spaces, hyphens, apostrophes and full stops only."),
    ("learners", "0", "Number of learners must be from 1 to 200."),
    ("course", "no-such-course", "Choose a course from the list."),
    ("preferred_dates", "  ", "Enter your preferred dates."),
])
def test_a_bad_field_is_refused_with_the_projects_message_next_to_it(client, course, field,
                                                                     value, message):
    response = client.post("/enquiries/new", data=valid_form(course, **{field: value}))
    assert response.status_code == 422
    assert field_errors(response) == {field: message}
    assert f'href="#{field}"' in response.get_data(as_text=True)  # the error summary links it
    assert enquiry_count() == 0


def test_an_empty_post_names_every_required_field_and_is_never_a_500(client, course):
    response = client.post("/enquiries/new", data={})
    assert response.status_code == 422
    assert set(field_errors(response)) == {"course", "learners", "preferred_dates", "postcode",
                                           "name", "email", "phone", "company"}


def test_a_filled_honeypot_is_thanked_but_stores_and_sends_nothing(client, course, outbox):
    response = client.post("/enquiries/new", data=valid_form(course, website="http://spam"))
    assert response.status_code == 303 and response.headers["Location"] == "/enquiries/thanks"
    deliver_all()
    assert enquiry_count() == 0 and outbox == []


def test_the_enquirer_gets_a_confirmation_and_the_office_a_notice(client, course, outbox):
    enquiry = submit(client, course)
    deliver_all()
    by_recipient = {tuple(m.to): m for m in outbox}
    assert set(by_recipient) == {("dana@example.com",), ("office@example.co.uk",)}
    confirmation = by_recipient[("dana@example.com",)]
    assert "We have your enquiry" in confirmation.subject
    assert "Any Tuesday in March" in confirmation.body and "LS1 4AP" in confirmation.body
    notice = by_recipient[("office@example.co.uk",)]
    assert f"{BASE_URL}/admin/enquiries/{enquiry.id}" in notice.body
    assert notice.reply_to == ["dana@example.com"]
    deliver_all()
    assert len(outbox) == 2  # delivered once, sent once


class TestRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                "ENQUIRY_RATE_LIMIT": "2/hour"}

    def test_a_third_enquiry_from_one_address_in_an_hour_is_429(self, client, course):
        for _ in range(2):
            assert client.post("/enquiries/new", data=valid_form(course)).status_code == 303
        refused = client.post("/enquiries/new", data=valid_form(course))
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert enquiry_count() == 2
        assert client.get("/enquiries/new").status_code == 200  # reading the form is not counted


# -- the office -------------------------------------------------------------------------------
def audit_actions(enquiry_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).where(
        AuditLog.entity_type == "enquiry", AuditLog.entity_id == str(enquiry_id))
        .order_by(AuditLog.id)))


def test_enquiry_pages_are_for_admins_only(app, admin_client, trainer_client, client, course):
    from admin_helpers import assert_admin_only

    enquiry = submit(client, course)
    for url in ("/admin/enquiries", f"/admin/enquiries/{enquiry.id}",
                f"/admin/enquiries/{enquiry.id}/private-session"):
        assert_admin_only(admin_client, trainer_client, client, url)


def test_the_list_shows_open_answered_and_closed_enquiries_as_an_htmx_table(
        admin_client, client, course):
    enquiry = submit(client, course)
    page = admin_client.get("/admin/enquiries").get_data(as_text=True)
    assert "Acme Widgets Ltd" in page and 'id="enquiries-table"' in page
    fragment = admin_client.get("/admin/enquiries?status=closed",
                                headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "No closed enquiries." in fragment
    admin_client.post(f"/admin/enquiries/{enquiry.id}/close", data={"confirmed": "yes"})
    closed = admin_client.get("/admin/enquiries?status=closed").get_data(as_text=True)
    assert "Acme Widgets Ltd" in closed
    assert "Acme Widgets Ltd" not in admin_client.get("/admin/enquiries").get_data(as_text=True)


def test_an_answer_is_emailed_kept_on_the_enquiry_and_audited(admin_client, client, course,
                                                               outbox):
    enquiry = submit(client, course)
    response = admin_client.post(f"/admin/enquiries/{enquiry.id}/answer", data={
        "subject": "Your training at Acme", "body": "We can come on 10 March.\n\nRegards"})
    assert response.status_code == 303
    db.session.expire_all()
    enquiry = db.session.get(Enquiry, enquiry.id)
    assert enquiry.status == EnquiryStatus.ANSWERED
    assert [r.subject for r in enquiry.replies] == ["Your training at Acme"]
    assert audit_actions(enquiry.id) == ["enquiry.answer"]
    outbox.clear()
    deliver_all()
    [answer] = [m for m in outbox if m.subject == "Your training at Acme"]
    assert answer.to == ["dana@example.com"] and "We can come on 10 March." in answer.body
    page = admin_client.get(f"/admin/enquiries/{enquiry.id}").get_data(as_text=True)
    assert "We can come on 10 March." in page and "Answered an on-site training enquiry" in page


def test_an_answer_without_a_message_is_refused_at_the_field(admin_client, client, course):
    enquiry = submit(client, course)
    response = admin_client.post(f"/admin/enquiries/{enquiry.id}/answer",
                                 data={"subject": "Hello", "body": "  "})
    assert response.status_code == 422
    assert field_errors(response) == {"body": "Enter the message."}
    assert audit_actions(enquiry.id) == []


def test_closing_is_audited_and_a_closed_enquiry_is_neither_answered_nor_closed_again(
        admin_user, client, course):
    enquiry = submit(client, course)
    office.close_enquiry(admin_user.id, enquiry.id)
    assert audit_actions(enquiry.id) == ["enquiry.close"]
    from app.services.core.errors import InvalidState

    with pytest.raises(InvalidState):
        office.close_enquiry(admin_user.id, enquiry.id)
    with pytest.raises(InvalidState):
        office.answer_enquiry(admin_user.id, enquiry.id, {"subject": "Hi", "body": "Hello"})
    assert audit_actions(enquiry.id) == ["enquiry.close"]


def test_a_private_session_is_made_from_an_enquiry_and_its_link_emailed_with_the_answer(
        admin_client, client, course, outbox):
    enquiry = submit(client, course)
    venue = VenueFactory(name="Acme Widgets, Leeds site")
    day = (utcnow() + timedelta(days=30)).date().isoformat()
    response = admin_client.post(f"/admin/enquiries/{enquiry.id}/private-session", data={
        "venue_id": str(venue.id), "trainer_id": "", "date": day, "start_time": "09:00",
        "end_time": "16:30", "capacity": "8", "price": ""})
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    enquiry = db.session.get(Enquiry, enquiry.id)
    session = db.session.get(CourseSession, enquiry.session_id)
    assert session.is_private and len(session.private_token) >= 32 and session.capacity == 8
    assert audit_actions(enquiry.id) == ["enquiry.private_session"]
    detail = admin_client.get(f"/admin/sessions/{session.id}").get_data(as_text=True)
    link = f"{BASE_URL}/sessions/private/{session.private_token}"
    assert link in detail
    again = admin_client.post(f"/admin/enquiries/{enquiry.id}/private-session", data={
        "venue_id": str(venue.id), "date": day, "start_time": "09:00", "end_time": "16:30",
        "capacity": "8"})
    assert again.status_code == 303  # refused with a message: one private session each
    assert db.session.scalar(select(func.count()).select_from(CourseSession)) == 1
    admin_client.post(f"/admin/enquiries/{enquiry.id}/answer", data={
        "subject": "Your date", "body": "Here is your date."})
    outbox.clear()
    deliver_all()
    [answer] = [m for m in outbox if m.subject == "Your date"]
    assert link in answer.body


def test_the_hostile_corpus_gets_a_4xx_or_a_thank_you_from_the_form_never_a_500(client, course):
    """The corpus (tests/fuzz/corpus.py) in every field but the honeypot, which the
    generic corpus run fills and so never reaches the rules."""
    from fuzz.corpus import VALUES, encodable, problems

    fields = [*intake_fields(), "csrf_token"]
    bad = []
    for payload in [v for v in VALUES if encodable(v)]:
        for data in ({name: payload for name in fields},
                     valid_form(course, **{name: payload for name in ("name", "message")})):
            response = client.post("/enquiries/new", data=data)
            found = problems(response, json_api=False)
            if not (response.status_code == 303 or 400 <= response.status_code < 500) or found:
                bad.append(f"{payload[:40]!r}: {response.status_code} {found}")
    assert not bad, "\n".join(bad)


def intake_fields() -> tuple[str, ...]:
    from app.services.enquiries.intake import FIELDS

    return FIELDS
