"""Admin course management: prices typed in pounds, rich text sanitised, soft
delete only, every change audited."""
from datetime import timedelta

import pytest

from app.models import SessionStatus, utcnow
from app.services.catalogue import courses, listing
from app.services.core.audit import search_audit
from app.services.core.errors import InvalidInput, InvalidState, NotFound

from factories import CourseFactory, SessionFactory


def course_data(**overrides):
    data = {
        "title": "First Aid at Work", "slug": "", "category": "Workplace first aid",
        "summary": "Three days.", "description": "<p>Covers <strong>CPR</strong>.</p>",
        "duration_days": "3", "duration_hours": "18", "price": "£200.50",
        "certificate_validity_months": "36", "default_capacity": "12",
    }
    data.update(overrides)
    return data


def test_create_course_turns_pounds_into_pence_and_slugs_the_title(app, admin_user):
    course = courses.create_course(admin_user.id, course_data())
    assert course.price_pence == 20050
    assert course.slug == "first-aid-at-work"
    assert course.duration_days == 3 and course.default_capacity == 12
    assert course.is_active


def test_rich_description_is_sanitised_script_stripped(app, admin_user):
    course = courses.create_course(admin_user.id, course_data(
        description='<p onclick="steal()">Hi</p><script>alert(1)</script>'
                    '<a href="javascript:alert(1)">x</a><a href="https://hse.gov.uk">HSE</a>'))
    assert "<script" not in course.description_html
    assert "onclick" not in course.description_html
    assert "javascript:" not in course.description_html
    assert 'rel="noopener noreferrer nofollow"' in course.description_html


def test_bad_values_are_reported_per_field(app, admin_user):
    with pytest.raises(InvalidInput) as caught:
        courses.create_course(admin_user.id, course_data(
            price="12.345", default_capacity="0", title="", slug="Not A Slug"))
    assert set(caught.value.fields) == {"price", "default_capacity", "title", "slug"}


def test_a_second_course_cannot_take_a_used_web_address(app, admin_user):
    CourseFactory(slug="first-aid-at-work")
    with pytest.raises(InvalidInput) as caught:
        courses.create_course(admin_user.id, course_data())
    assert "slug" in caught.value.fields


def test_edit_is_audited_with_only_the_changed_values(app, admin_user):
    course = CourseFactory(price_pence=10000, title="EFAW")
    data = courses.form_values(course)
    data["price"] = "120"
    courses.update_course(admin_user.id, course.id, data)
    entry = search_audit(entity_type="course", entity_id=course.id).items[0]
    assert entry.action == "course.update" and entry.actor_id == admin_user.id
    assert entry.before == {"price_pence": 10000} and entry.after == {"price_pence": 12000}


def test_create_is_audited_with_the_values_after(app, admin_user):
    course = courses.create_course(admin_user.id, course_data())
    entry = search_audit(entity_type="course", entity_id=course.id).items[0]
    assert entry.action == "course.create" and entry.before is None
    assert entry.after["price_pence"] == 20050 and entry.after["slug"] == "first-aid-at-work"


def test_deactivated_course_leaves_the_catalogue_and_comes_back(app, admin_user):
    course = CourseFactory()
    courses.set_course_active(admin_user.id, course.id, False)
    assert course.slug not in [c.slug for c in listing.list_courses()]
    courses.set_course_active(admin_user.id, course.id, True)
    assert course.slug in [c.slug for c in listing.list_courses()]
    actions = [e.action for e in search_audit(entity_type="course", entity_id=course.id).items]
    assert actions == ["course.activate", "course.deactivate"]


def test_soft_deleted_course_is_hidden_from_the_public_catalogue_and_restorable(app, admin_user,
                                                                              client):
    course = CourseFactory(slug="paediatric")
    courses.delete_course(admin_user.id, course.id)
    assert "paediatric" not in [c.slug for c in listing.list_courses()]
    with pytest.raises(NotFound):
        listing.get_course("paediatric")
    assert client.get("/courses/paediatric").status_code == 404
    assert courses.get_course(course.id).is_deleted  # the row is kept

    courses.restore_course(admin_user.id, course.id)
    assert listing.get_course("paediatric").slug == "paediatric"
    assert client.get("/courses/paediatric").status_code == 200
    entries = search_audit(entity_type="course", entity_id=course.id).items
    assert [e.action for e in entries] == ["course.restore", "course.delete"]
    assert entries[1].before == {"deleted_at": None} and entries[1].after["deleted_at"]


def test_course_with_upcoming_sessions_cannot_be_deleted(app, admin_user):
    session = SessionFactory()
    with pytest.raises(InvalidState, match="upcoming"):
        courses.delete_course(admin_user.id, session.course.id)
    assert not courses.get_course(session.course.id).is_deleted


def test_course_length_cannot_change_beyond_what_its_upcoming_sessions_give(app, admin_user):
    """Certificates state the course's hours: a scheduled session must still teach them."""
    session = SessionFactory()  # 7 hours, one day, of a one-day 6-hour course
    course_id = session.course.id
    with pytest.raises(InvalidInput) as caught:
        courses.update_course(admin_user.id, course_id,
                              {**courses.form_values(session.course), "duration_hours": "8"})
    assert set(caught.value.fields) == {"duration_hours"}
    assert "needs 8 hours; this session gives 7 hours." in caught.value.fields["duration_hours"]
    with pytest.raises(InvalidInput) as caught:
        courses.update_course(admin_user.id, course_id,
                              {**courses.form_values(session.course), "duration_days": "2"})
    assert set(caught.value.fields) == {"duration_days"}
    course = courses.get_course(course_id)
    assert (course.duration_days, course.duration_hours) == (1, 6)
    assert search_audit(entity_type="course", entity_id=course_id).items == []


def test_course_length_may_change_as_far_as_its_upcoming_sessions_give_it(app, admin_user):
    session = SessionFactory()  # 7 hours
    long_ago = (utcnow() - timedelta(days=30)).replace(hour=9, minute=0, second=0, microsecond=0)
    SessionFactory(course=session.course, starts_at=long_ago,
                   ends_at=long_ago + timedelta(hours=3))
    SessionFactory(course=session.course, status=SessionStatus.CANCELLED,
                   ends_at=session.starts_at + timedelta(hours=3))
    course = courses.update_course(admin_user.id, session.course.id,
                                   {**courses.form_values(session.course), "duration_hours": "7"})
    assert course.duration_hours == 7


def test_course_list_searches_and_can_include_deleted_ones(app, admin_user):
    keep = CourseFactory(title="Paediatric First Aid")
    gone = CourseFactory(title="Paediatric Refresher")
    CourseFactory(title="Emergency First Aid at Work")
    courses.delete_course(admin_user.id, gone.id)
    assert [c.id for c in courses.list_courses(text="paediatric").items] == [keep.id]
    assert {c.id for c in courses.list_courses(text="paediatric",
                                                     include_deleted=True).items} == {keep.id,
                                                                                      gone.id}
