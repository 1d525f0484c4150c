"""Subscribers to live seat counts: rooms, bounded per-connection queues, fan-out.

Pure Python, no database and no Flask (it counts into app.monitoring.metrics,
which needs neither): `app.services.realtime.announce` feeds it
rendered fragments, the WebSocket route drains one `Subscription` per
connection on that connection's own thread.

Rules that keep one slow client from delaying the others:

* publishing never blocks: `Subscription.offer` appends to an in-memory
  queue and sets the connection's wake-up event;
* the queue holds at most `limit` messages; a newer fragment for a session
  replaces the one still waiting (only the latest count matters), so a slow
  but live reader never overflows unless it watches more than `limit`
  sessions; a queue that does overflow drops its subscriber;
* a send that blocks longer than the send timeout (a client that stopped
  reading, its TCP buffers full) is noticed by `stalled()` and dropped too.

Dropping calls the subscription's `on_drop` (the route shuts its socket down,
which also unblocks a send stuck in the kernel); the browser reconnects and
gets a fresh snapshot.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from app.monitoring import metrics


class ChangedIds(frozenset):
    """Session ids that changed, with when (epoch seconds) the change committed, so
    the hub can time commit -> fragment queued (realtime_broadcast_seconds)."""

    committed_at: float | None = None

    def __new__(cls, ids: Iterable[int], committed_at: float | None = None):
        changed = super().__new__(cls, ids)
        changed.committed_at = committed_at
        return changed


def format_changed(session_ids: Iterable[int], committed_at: float | None = None) -> str:
    """A transport message: ``"3,5"`` or ``"3,5@1712345678.123456"``."""
    ids = ",".join(str(i) for i in sorted(session_ids))
    return ids if committed_at is None else f"{ids}@{committed_at:.6f}"


def parse_changed(payload: str) -> ChangedIds:
    """`format_changed`'s message back; anything that is not an id is ignored."""
    ids_part, _, stamp = payload.partition("@")
    ids = {int(p) for p in ids_part.split(",") if p.strip().isdigit()}
    try:
        committed_at = float(stamp) if stamp else None
    except ValueError:
        committed_at = None
    if committed_at is not None and not math.isfinite(committed_at):
        committed_at = None
    return ChangedIds(ids, committed_at)


@dataclass(frozen=True)
class Rooms:
    """What one connection watches: sessions by id, a course's upcoming
    sessions, or (neither given) every upcoming session."""

    session_ids: frozenset[int] = field(default_factory=frozenset)
    course_slug: str | None = None

    @property
    def is_all_upcoming(self) -> bool:
        return not self.session_ids and self.course_slug is None


@dataclass(frozen=True)
class Target:
    """Who a fragment is for: its session, that session's course, and whether
    the session is still upcoming (the 'all upcoming' room)."""

    session_id: int
    course_slug: str
    is_upcoming: bool


class Subscription:
    """One connection's bounded queue of messages waiting to be sent."""

    def __init__(self, rooms: Rooms, *, limit: int = 100, wakeup: threading.Event | None = None,
                 on_drop: Callable[[str], None] | None = None):
        self.rooms = rooms
        self.limit = max(1, limit)
        self.wakeup = wakeup or threading.Event()
        self.drop_reason: str | None = None
        self._on_drop = on_drop
        self._pending: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()
        self._sending_since: float | None = None

    @property
    def is_dropped(self) -> bool:
        return self.drop_reason is not None

    def offer(self, key: Hashable, message: str) -> bool:
        """Queue `message` without blocking; a message with the same key still
        waiting is replaced. False (and the subscriber dropped) on overflow."""
        with self._lock:
            if self.drop_reason is not None:
                return False
            if key not in self._pending and len(self._pending) >= self.limit:
                overflow = True
            else:
                self._pending[key] = message
                overflow = False
        if overflow:
            self.drop("queue overflow")
            return False
        self.wakeup.set()
        return True

    def take(self) -> list[str]:
        """Everything waiting, oldest first, and an empty queue."""
        with self._lock:
            messages = list(self._pending.values())
            self._pending.clear()
        return messages

    def __len__(self) -> int:
        return len(self._pending)

    def drop(self, reason: str) -> None:
        """Stop this subscriber (once); its connection is closed by `on_drop`."""
        with self._lock:
            if self.drop_reason is not None:
                return
            self.drop_reason = reason
            self._pending.clear()
        metrics.REALTIME_DROPPED.labels(reason=reason.replace(" ", "_")).inc()
        if self._on_drop is not None:
            try:
                self._on_drop(reason)
            except Exception:  # closing a dead socket must not hurt the publisher
                pass
        self.wakeup.set()

    # -- send watchdog: the connection thread brackets each send ------------------
    def sending(self) -> None:
        self._sending_since = time.monotonic()

    def sent(self) -> None:
        self._sending_since = None

    def is_stalled(self, now: float, timeout: float) -> bool:
        started = self._sending_since
        return started is not None and now - started > timeout


class SubscriberRegistry:
    """Subscriptions indexed by room; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_session: dict[int, set[Subscription]] = {}
        self._by_course: dict[str, set[Subscription]] = {}
        self._all_upcoming: set[Subscription] = set()
        self._all: set[Subscription] = set()

    def add(self, sub: Subscription) -> Subscription:
        with self._lock:
            self._all.add(sub)
            for room in self._rooms_of(sub):
                room.add(sub)
        return sub

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            self._all.discard(sub)
            for room in self._rooms_of(sub):
                room.discard(sub)
            self._prune()

    def _rooms_of(self, sub: Subscription) -> list[set[Subscription]]:
        rooms = sub.rooms
        found = [self._by_session.setdefault(i, set()) for i in rooms.session_ids]
        if rooms.course_slug is not None:
            found.append(self._by_course.setdefault(rooms.course_slug, set()))
        if rooms.is_all_upcoming:
            found.append(self._all_upcoming)
        return found

    def _prune(self) -> None:
        for index in (self._by_session, self._by_course):
            for key in [k for k, subs in index.items() if not subs]:
                del index[key]

    def __len__(self) -> int:
        return len(self._all)

    def subscribers(self) -> list[Subscription]:
        with self._lock:
            return list(self._all)

    def recipients(self, target: Target) -> set[Subscription]:
        with self._lock:
            found = set(self._by_session.get(target.session_id, ()))
            found |= self._by_course.get(target.course_slug, set())
            if target.is_upcoming:
                found |= self._all_upcoming
        return found

    def publish(self, items: Iterable[tuple[Target, str]]) -> int:
        """Offer each fragment to every subscriber of its rooms; never blocks.
        Returns how many messages were queued."""
        queued = 0
        for target, fragment in items:
            for sub in self.recipients(target):
                queued += sub.offer(target.session_id, fragment)
        return queued

    def watched(self) -> tuple[set[int], set[str], bool]:
        """(session ids, course slugs, anyone watching all upcoming) — for a resync."""
        with self._lock:
            return set(self._by_session), set(self._by_course), bool(self._all_upcoming)

    def drop_stalled(self, timeout: float) -> int:
        """Drop subscribers whose current send has been blocked over `timeout` seconds."""
        now = time.monotonic()
        stalled = [s for s in self.subscribers() if s.is_stalled(now, timeout)]
        for sub in stalled:
            sub.drop("send timeout")
        return len(stalled)
