"""Trainer pages: creating accounts (password rules shown on the field) and
deactivating with a confirm step."""
from sqlalchemy import select

from app.extensions import db
from app.models import Role, User

from admin_helpers import assert_admin_only
from factories import SessionFactory, UserFactory

PASSWORD = "plenty long enough pass 7"


def test_trainer_pages_are_for_admins_only(app, admin_client, trainer_client, client,
                                           trainer_user):
    for url in ("/admin/trainers", "/admin/trainers/new",
                f"/admin/trainers/{trainer_user.id}/deactivate"):
        assert_admin_only(admin_client, trainer_client, client, url)


def test_creating_a_trainer(app, admin_client):
    response = admin_client.post("/admin/trainers/new", data={
        "full_name": "Jo Bloggs", "email": "jo@example.com", "password": PASSWORD,
        "password_confirm": PASSWORD})
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "jo@example.com"))
    assert user.role == Role.TRAINER
    assert "Jo Bloggs" in admin_client.get("/admin/trainers").get_data(as_text=True)


def test_a_common_or_short_password_is_refused_on_its_field(app, admin_client):
    for password in ("short", "password1234"):
        response = admin_client.post("/admin/trainers/new", data={
            "full_name": "Jo Bloggs", "email": "jo@example.com", "password": password,
            "password_confirm": password})
        assert response.status_code == 422
        assert 'id="password-error"' in response.get_data(as_text=True)


def test_mismatched_passwords_are_reported(app, admin_client):
    response = admin_client.post("/admin/trainers/new", data={
        "full_name": "Jo Bloggs", "email": "jo@example.com", "password": PASSWORD,
        "password_confirm": PASSWORD + "x"})
    assert response.status_code == 422
    assert 'id="password_confirm-error"' in response.get_data(as_text=True)


def test_deactivating_asks_first_and_explains_a_refusal(app, admin_client):
    busy = SessionFactory().trainer
    idle = UserFactory(role=Role.TRAINER)
    assert admin_client.post(f"/admin/trainers/{idle.id}/deactivate").status_code == 200
    db.session.expire_all()
    assert db.session.get(User, idle.id).is_active
    admin_client.post(f"/admin/trainers/{idle.id}/deactivate", data={"confirmed": "yes"})
    db.session.expire_all()
    assert not db.session.get(User, idle.id).is_active
    response = admin_client.post(f"/admin/trainers/{busy.id}/deactivate",
                                 data={"confirmed": "yes"})
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Give them another trainer first." in page
