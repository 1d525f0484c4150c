"""Admin trainer accounts: created with the account rules, deactivated only when
no upcoming session depends on them, audited."""
import pytest

from app.models import Role
from app.services.core.audit import search_audit
from app.services.core.errors import InvalidInput, InvalidState
from app.services.staff import trainers
from app.services.staff.passwords import verify_password

from factories import SessionFactory, UserFactory

PASSWORD = "a long enough password 42"


def test_create_trainer_hashes_the_password_and_audits(app, admin_user):
    user = trainers.create_trainer(admin_user.id, {
        "full_name": "Jo Bloggs", "email": "Jo@Example.com", "password": PASSWORD,
        "password_confirm": PASSWORD})
    assert user.role == Role.TRAINER and user.is_active and user.email == "jo@example.com"
    assert verify_password(user.password_hash, PASSWORD)
    entry = search_audit(entity_type="user", entity_id=user.id).items[0]
    assert entry.action == "trainer.create" and "password_hash" not in entry.after


@pytest.mark.parametrize("data,field", [
    ({"email": "nope"}, "email"),
    ({"password": "short", "password_confirm": "short"}, "password"),
    ({"password_confirm": "something else entirely"}, "password_confirm"),
    ({"full_name": "R2D2"}, "full_name"),
])
def test_bad_trainer_details_name_their_field(app, admin_user, data, field):
    values = {"full_name": "Jo Bloggs", "email": "jo@example.com", "password": PASSWORD,
              "password_confirm": PASSWORD, **data}
    with pytest.raises(InvalidInput) as caught:
        trainers.create_trainer(admin_user.id, values)
    assert field in caught.value.fields


def test_email_already_used_is_refused(app, admin_user):
    UserFactory(email="jo@example.com")
    with pytest.raises(InvalidInput) as caught:
        trainers.create_trainer(admin_user.id, {
            "full_name": "Jo Bloggs", "email": "jo@example.com", "password": PASSWORD,
            "password_confirm": PASSWORD})
    assert "email" in caught.value.fields


def test_trainer_with_upcoming_sessions_cannot_be_deactivated(app, admin_user):
    session = SessionFactory()
    with pytest.raises(InvalidState, match="1 upcoming session"):
        trainers.deactivate_trainer(admin_user.id, session.trainer_id)


def test_deactivated_trainer_stays_listed_but_inactive(app, admin_user):
    trainer = UserFactory(role=Role.TRAINER)
    trainers.deactivate_trainer(admin_user.id, trainer.id)
    rows = {row.user.id: row for row in trainers.list_trainers()}
    assert rows[trainer.id].user.is_active is False
    entry = search_audit(entity_type="user", entity_id=trainer.id).items[0]
    assert entry.before == {"is_active": True} and entry.after == {"is_active": False}


def test_list_counts_each_trainers_upcoming_sessions(app, admin_user):
    busy = UserFactory(role=Role.TRAINER)
    SessionFactory(trainer=busy)
    SessionFactory(trainer=busy)
    rows = {row.user.id: row.upcoming_sessions for row in trainers.list_trainers()}
    assert rows[busy.id] == 2
    assert admin_user.id not in rows  # admins are not trainers
