"""Outbox events and their per-handler deliveries."""
from __future__ import annotations

from app.models import OutboxEvent
from app.repositories.base import Repository


class OutboxRepository(Repository[OutboxEvent]):
    model = OutboxEvent
