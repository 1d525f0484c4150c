"""Admin: trainer accounts. List, create (app.services.staff.accounts applies the
account rules: valid unused email, password policy) and deactivate."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.models import Role, User, utcnow
from app.repositories import unit_of_work
from app.repositories.admin import AdminSessionRepository, StaffRepository
from app.services.catalogue.timetable import refuse_while_upcoming
from app.services.core.audit import snapshot
from app.services.core.errors import InvalidInput, NotFound
from app.services.core.records import AuditedRecords
from app.services.staff import accounts

AUDITED_FIELDS = ("email", "full_name", "role", "is_active")

# Trainer accounts are users: audited as "user" rows, with "trainer.*" actions.
RECORDS = AuditedRecords(StaffRepository, "user", AUDITED_FIELDS,
                         not_found="We could not find that trainer.", action_prefix="trainer")


@dataclass(frozen=True)
class TrainerRow:
    user: User
    upcoming_sessions: int


def list_trainers(*, now: datetime | None = None) -> list[TrainerRow]:
    now = now or utcnow()
    users = StaffRepository().trainers(include_inactive=True)
    counts = AdminSessionRepository().upcoming_counts_by_trainer([u.id for u in users], now)
    return [TrainerRow(u, counts.get(u.id, 0)) for u in users]


def get_trainer(user_id: int) -> User:
    user = StaffRepository().get(user_id)
    if user is None or user.role != Role.TRAINER:
        raise NotFound("We could not find that trainer.")
    return user


def create_trainer(actor_id: int, data: Mapping) -> User:
    """A trainer account that can sign in at once with the password given (they
    can change it with the password reset link)."""
    if (data.get("password") or "") != (data.get("password_confirm") or ""):
        message = "The two passwords do not match."
        raise InvalidInput(message, fields={"password_confirm": message})
    with unit_of_work():
        user = accounts.create_staff_user(data.get("email") or "", Role.TRAINER,
                                          data.get("password") or "",
                                          full_name=data.get("full_name") or None)
        RECORDS.record(actor_id, "create", user)
    return user


def deactivate_trainer(actor_id: int, user_id: int, *, now: datetime | None = None) -> User:
    """Stop a trainer signing in. Refused while they are down to teach upcoming
    sessions: give those another trainer first, so no session is left uncovered
    by surprise."""
    now = now or utcnow()
    with unit_of_work():
        user = get_trainer(user_id)
        if not user.is_active:
            return user
        StaffRepository().lock(user.id, now)  # no new assignment slips in meanwhile
        refuse_while_upcoming(now, lambda n: (
            f"{user.full_name} is teaching {n} upcoming {'session' if n == 1 else 'sessions'}. "
            "Give them another trainer first."), trainer_id=user.id)
        before = snapshot(user, AUDITED_FIELDS)
        user = accounts.deactivate_staff_user(user.email)
        RECORDS.record(actor_id, "deactivate", user, before=before)
    return user
