"""Messages emailed to a session's attendees and their recipients."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from app.models import SessionMessage, SessionMessageRecipient
from app.repositories.base import Repository


class SessionMessageRepository(Repository[SessionMessage]):
    model = SessionMessage

    def by_send_key(self, send_key: str) -> SessionMessage | None:
        return self.session.scalar(select(SessionMessage)
                                   .where(SessionMessage.send_key == send_key))

    def for_session(self, session_id: int) -> list[SessionMessage]:
        """A session's messages, newest first."""
        return self.list(SessionMessage.session_id == session_id,
                         order_by=(SessionMessage.created_at.desc(), SessionMessage.id.desc()))

    def recipient(self, recipient_id: int) -> SessionMessageRecipient | None:
        return self.session.get(SessionMessageRecipient, recipient_id,
                                populate_existing=True)

    def mark_sent(self, recipient_id: int, at: datetime) -> None:
        """Record the first time the recipient's email went out (a repeat keeps it)."""
        self.session.execute(
            update(SessionMessageRecipient)
            .where(SessionMessageRecipient.id == recipient_id,
                   SessionMessageRecipient.sent_at.is_(None))
            .values(sent_at=at).execution_options(synchronize_session=False))
