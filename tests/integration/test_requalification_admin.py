"""Requalification as staff and API clients see it: the admin sets which full course a
course renews (checked and audited), trainers and admins see each attendee's stated
certificate expiry on requalification bookings only, and the API course object says
which course a requalification renews."""
import io
from datetime import date

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.models import Course
from app.services.catalogue import courses
from app.services.core.audit import search_audit
from app.services.core.errors import InvalidInput
from app.services.staff import roster_documents

from factories import AttendeeFactory, BookingFactory, CourseFactory, SessionFactory

STATED = date(2026, 3, 29)


@pytest.fixture
def full_course(app):
    return CourseFactory(slug="first-aid-at-work", title="First Aid at Work")


@pytest.fixture
def requal_course(full_course):
    return CourseFactory(slug="first-aid-at-work-requalification",
                         title="First Aid at Work Requalification", requalifies=full_course)


def requalifying(course, target_id) -> dict:
    return {**courses.form_values(course), "requalifies_course_id": str(target_id or "")}


def refusal(admin_user, course, target_id) -> str:
    with pytest.raises(InvalidInput) as caught:
        courses.update_course(admin_user.id, course.id, requalifying(course, target_id))
    return caught.value.fields["requalifies_course_id"]


# -- the admin sets it ----------------------------------------------------------------------
def test_setting_requalifies_is_saved_and_audited(admin_user, full_course):
    course = CourseFactory(title="FAW Requal")
    courses.update_course(admin_user.id, course.id, requalifying(course, full_course.id))
    assert db.session.get(Course, course.id).requalifies_course_id == full_course.id
    entry = search_audit(entity_type="course", entity_id=course.id).items[0]
    assert entry.before == {"requalifies_course_id": None}
    assert entry.after == {"requalifies_course_id": full_course.id}


def test_an_empty_choice_makes_it_an_ordinary_course_again(admin_user, requal_course):
    courses.update_course(admin_user.id, requal_course.id, requalifying(requal_course, None))
    assert not db.session.get(Course, requal_course.id).is_requalification


def test_a_course_cannot_requalify_itself(admin_user, full_course):
    assert "itself" in refusal(admin_user, full_course, full_course.id)


def test_a_course_cannot_requalify_another_requalification_course(admin_user, requal_course):
    course = CourseFactory(title="Another course")
    assert "itself a requalification course" in refusal(admin_user, course, requal_course.id)


def test_a_course_that_others_renew_cannot_become_a_requalification(admin_user, full_course,
                                                                     requal_course):
    other = CourseFactory(title="Emergency First Aid at Work")
    assert "Other courses renew" in refusal(admin_user, full_course, other.id)


@pytest.mark.parametrize("target", ["999999", "not a number", "-1"])
def test_the_renewed_course_must_exist(admin_user, full_course, target):
    course = CourseFactory()
    message = refusal(admin_user, course, target)
    assert message == "Choose a full course from the list."
    assert db.session.get(Course, course.id).requalifies_course_id is None


def test_a_deleted_course_cannot_be_renewed(admin_user, full_course):
    courses.delete_course(admin_user.id, full_course.id)
    assert refusal(admin_user, CourseFactory(), full_course.id) == \
        "Choose a full course from the list."


def test_create_checks_it_too(admin_user, requal_course):
    data = {**requalifying(requal_course, requal_course.id), "title": "New", "slug": "new"}
    with pytest.raises(InvalidInput) as caught:
        courses.create_course(admin_user.id, data)
    assert set(caught.value.fields) == {"requalifies_course_id"}


def test_the_form_offers_the_other_active_full_courses_only(admin_client, full_course,
                                                            requal_course):
    CourseFactory(title="Hidden Course", is_active=False)
    page = admin_client.get(f"/admin/courses/{requal_course.id}").get_data(as_text=True)
    select = page[page.index('name="requalifies_course_id"'):]
    select = select[:select.index("</select>")]
    assert f'<option selected value="{full_course.id}">First Aid at Work</option>' in select
    assert "Hidden Course" not in select and "Requalification</option>" not in select
    own = admin_client.get(f"/admin/courses/{full_course.id}").get_data(as_text=True)
    own = own[own.index('name="requalifies_course_id"'):]
    assert f'value="{full_course.id}"' not in own[:own.index("</select>")]


def test_the_form_saves_the_choice_and_shows_a_refusal_at_the_field(admin_client, full_course,
                                                                   requal_course):
    course = CourseFactory(title="EFAW Requal")
    data = {**courses.form_values(course), "requalifies_course_id": str(full_course.id)}
    assert admin_client.post(f"/admin/courses/{course.id}", data=data).status_code == 303
    assert db.session.get(Course, course.id).requalifies_course_id == full_course.id
    data["requalifies_course_id"] = str(requal_course.id)
    response = admin_client.post(f"/admin/courses/{course.id}", data=data)
    assert response.status_code == 422
    assert 'id="requalifies_course_id-error"' in response.get_data(as_text=True)


# -- the stated expiry, for staff -------------------------------------------------------------
def booked(course, trainer=None, expiry=STATED):
    course_session = SessionFactory(course=course, **({"trainer": trainer} if trainer else {}))
    booking = BookingFactory(session=course_session)
    AttendeeFactory(booking=booking, full_name="Sam O'Neill", prior_certificate_expires_on=expiry)
    return course_session, booking


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_roster_shows_the_stated_expiry_on_a_requalification(trainer_client, trainer_user,
                                                                  requal_course):
    course_session, _ = booked(requal_course, trainer_user)
    page = trainer_client.get(f"/trainer/sessions/{course_session.id}").get_data(as_text=True)
    assert 'data-prior-expiry="2026-03-29"' in page and "29 March 2026" in page
    text = pdf_text(roster_documents.session_roster_pdf(course_session.id))
    assert "29 March 2026" in text and "(stated)" in text


def test_the_roster_says_nothing_of_it_on_other_courses(trainer_client, trainer_user,
                                                        full_course):
    course_session, _ = booked(full_course, trainer_user)
    page = trainer_client.get(f"/trainer/sessions/{course_session.id}").get_data(as_text=True)
    assert "data-prior-expiry" not in page and "29 March 2026" not in page
    text = pdf_text(roster_documents.session_roster_pdf(course_session.id))
    assert "29 March 2026" not in text and "(stated)" not in text


def test_the_admin_booking_page_shows_the_stated_expiry_on_a_requalification(
        admin_client, requal_course, full_course):
    _, booking = booked(requal_course)
    page = admin_client.get(f"/admin/bookings/{booking.reference}").get_data(as_text=True)
    assert "data-prior-certificates" in page
    assert "Sam O&#39;Neill: expires <time datetime=\"2026-03-29\">29 March 2026</time>" in page
    _, other = booked(full_course)
    page = admin_client.get(f"/admin/bookings/{other.reference}").get_data(as_text=True)
    assert "data-prior-certificates" not in page and "29 March 2026" not in page


# -- the API --------------------------------------------------------------------------------
def test_the_api_course_object_names_the_course_a_requalification_renews(client, full_course,
                                                                         requal_course):
    items = {c["slug"]: c for c in client.get("/api/v1/courses").get_json()["items"]}
    assert items["first-aid-at-work"]["requalifies"] is None
    assert items["first-aid-at-work-requalification"]["requalifies"] == {
        "slug": "first-aid-at-work", "title": "First Aid at Work"}
