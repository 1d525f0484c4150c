"""Staff accounts."""
from __future__ import annotations

from sqlalchemy import func, update

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

    def replace_password_hash(self, user_id: int, old_hash: str, new_hash: str) -> bool:
        """Set a new hash only if the stored one is still `old_hash` (conditional,
        so two uses of one reset link cannot both win)."""
        result = self.session.execute(
            update(User)
            .where(User.id == user_id, User.password_hash == old_hash)
            .values(password_hash=new_hash)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1
