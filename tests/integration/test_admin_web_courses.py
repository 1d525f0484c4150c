"""Course pages: forms whose errors sit next to their fields, HTMX tables, the
confirm step before a delete, CSRF on every form."""
from sqlalchemy import select

from app.extensions import db
from app.models import Course

from admin_helpers import assert_admin_only
from factories import CourseFactory

VALID = {"title": "Emergency Paediatric First Aid", "slug": "", "category": "Paediatric",
         "summary": "One day.", "description": "<p>Hi</p><script>alert(1)</script>",
         "duration_days": "1", "duration_hours": "6", "price": "75.50",
         "certificate_validity_months": "36", "default_capacity": "12", "is_active": "y"}


def test_course_pages_are_for_admins_only(app, admin_client, trainer_client, client):
    course = CourseFactory()
    for url in ("/admin/courses", "/admin/courses/new", f"/admin/courses/{course.id}",
                f"/admin/courses/{course.id}/delete"):
        assert_admin_only(admin_client, trainer_client, client, url)


def test_creating_a_course_through_the_form(app, admin_client):
    response = admin_client.post("/admin/courses/new", data=VALID)
    assert response.status_code == 303
    course = db.session.scalar(select(Course).where(Course.slug == "emergency-paediatric-first-aid"))
    assert course.price_pence == 7550
    assert "<script" not in course.description_html
    assert response.headers["Location"] == f"/admin/courses/{course.id}"
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Course &#39;Emergency Paediatric First Aid&#39; created." in page
    assert 'value="75.50"' in page


def test_errors_are_shown_next_to_their_fields(app, admin_client):
    response = admin_client.post("/admin/courses/new", data={**VALID, "price": "12.345",
                                                             "default_capacity": "0"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="price-error"' in html and 'id="default_capacity-error"' in html
    assert 'aria-invalid="true"' in html
    assert '<a href="#price">' in html  # the error summary links to the field
    assert db.session.scalar(select(Course)) is None


def test_a_taken_web_address_is_reported_on_the_slug_field(app, admin_client):
    CourseFactory(slug="emergency-paediatric-first-aid")
    response = admin_client.post("/admin/courses/new", data=VALID)
    assert response.status_code == 422
    assert 'id="slug-error"' in response.get_data(as_text=True)


def test_editing_keeps_the_other_values(app, admin_client):
    course = CourseFactory(price_pence=10000, title="EFAW")
    form = admin_client.get(f"/admin/courses/{course.id}").get_data(as_text=True)
    assert 'value="100.00"' in form
    data = {**VALID, "title": "EFAW", "slug": course.slug, "price": "110"}
    assert admin_client.post(f"/admin/courses/{course.id}", data=data).status_code == 303
    db.session.expire_all()
    assert db.session.get(Course, course.id).price_pence == 11000


def test_course_table_answers_htmx_with_the_fragment_only(app, admin_client):
    CourseFactory(title="Paediatric First Aid")
    CourseFactory(title="Emergency First Aid at Work")
    page = admin_client.get("/admin/courses?q=paed")
    fragment = admin_client.get("/admin/courses?q=paed", headers={"HX-Request": "true"})
    assert "<html" in page.get_data(as_text=True)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "Paediatric First Aid" in body
    assert "Emergency First Aid" not in body
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in page.headers["Vary"]
    assert 'hx-push-url="true"' in page.get_data(as_text=True)


def test_delete_needs_the_confirm_step_and_restore_brings_it_back(app, admin_client):
    course = CourseFactory()
    unconfirmed = admin_client.post(f"/admin/courses/{course.id}/delete")
    assert unconfirmed.status_code == 200 and "Yes, delete it" in unconfirmed.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Course, course.id).deleted_at is None

    confirmed = admin_client.post(f"/admin/courses/{course.id}/delete", data={"confirmed": "yes"})
    assert confirmed.status_code == 303
    db.session.expire_all()
    assert db.session.get(Course, course.id).deleted_at is not None
    assert admin_client.post(f"/admin/courses/{course.id}/restore").status_code == 303
    db.session.expire_all()
    assert db.session.get(Course, course.id).deleted_at is None


def test_deactivate_and_activate(app, admin_client):
    course = CourseFactory()
    admin_client.post(f"/admin/courses/{course.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert db.session.get(Course, course.id).is_active is False


def test_forms_refuse_a_post_without_the_csrf_token(app, admin_client):
    app.config["WTF_CSRF_ENABLED"] = True
    course = CourseFactory()
    response = admin_client.post(f"/admin/courses/{course.id}/delete", data={"confirmed": "yes"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Course, course.id).deleted_at is None
