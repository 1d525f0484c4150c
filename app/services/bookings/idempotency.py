"""Idempotency-Key handling for API writes.

The key is claimed by inserting its row in the same transaction as the work
it guards. A concurrent request with the same key blocks on the unique index
(PostgreSQL) or the writer lock (SQLite) until the first commits, then fails
its insert and replays the stored answer: ten clients sending one key at once
make one booking. Only successful answers are stored; a request that failed
changed nothing and may be retried with the same key.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from app.models import IdempotencyRecord, utcnow
from app.repositories import IdempotencyRepository, unit_of_work
from app.services.core.errors import IdempotencyConflict, InvalidInput

MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict
    replayed: bool


def fingerprint(body: object) -> str:
    """A stable hash of a JSON request body (key order does not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput("The Idempotency-Key header must be 1 to 255 printable characters.",
                           fields={"Idempotency-Key": "Use 1 to 255 printable characters."})
    return key


def run_once(key: str, request_hash: str, work: Callable[[], tuple[int, Mapping]]) -> StoredResponse:
    """Run `work` once per key and return its (status, body); replay it for a repeat.

    `work` runs inside this transaction (its own unit_of_work nests), so the
    booking and the stored answer commit together or not at all.
    """
    key = check_key(key)
    repo = IdempotencyRepository()
    stored = repo.get_by_key(key)
    if stored is not None:
        return _replay(stored, request_hash)
    try:
        with unit_of_work():
            record = repo.add(IdempotencyRecord(key=key, request_hash=request_hash,
                                                response_status=0, response_body="{}"))
            status, body = work()
            record.response_status = status
            record.response_body = json.dumps(body)
    except IntegrityError:
        stored = repo.get_by_key(key)
        if stored is None:  # the conflict was something else
            raise
        return _replay(stored, request_hash)
    return StoredResponse(status=status, body=dict(body), replayed=False)


def _replay(stored: IdempotencyRecord, request_hash: str) -> StoredResponse:
    if stored.request_hash != request_hash:
        raise IdempotencyConflict()
    return StoredResponse(status=stored.response_status, body=json.loads(stored.response_body),
                          replayed=True)


def purge_expired(now: datetime | None = None) -> int:
    """Forget keys older than the retention window (24 hours, as Stripe does)."""
    with unit_of_work():
        return IdempotencyRepository().purge_older_than((now or utcnow()) - RETENTION)
