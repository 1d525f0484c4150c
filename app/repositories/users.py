"""Staff accounts."""
from __future__ import annotations

from sqlalchemy import func

from app.models import Role, User
from app.repositories.base import Repository


class UserRepository(Repository[User]):
    model = User

    def get_by_email(self, email: str) -> User | None:
        stmt = self.select().where(func.lower(User.email) == email.strip().lower())
        return self.session.scalar(stmt)

    def trainers(self) -> list[User]:
        return self.list(User.role == Role.TRAINER, User.is_active.is_(True),
                         order_by=User.full_name)
