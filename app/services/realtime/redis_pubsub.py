"""Redis pub/sub: an alternative to LISTEN/NOTIFY when REDIS_URL is set
(REALTIME_TRANSPORT=redis, or automatically for SQLite with REDIS_URL).

Ids are published from the session's after_commit event, so a rolled-back
change publishes nothing; a publish that fails is logged and dropped (the
booking has committed; the next change or reconnect resync repairs counts).
One subscriber thread per process, reconnecting with backoff; after a
reconnect it asks the hub to resend every watched count.
"""
from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from app.monitoring import metrics
from app.services.realtime.hub import format_changed, parse_changed

log = logging.getLogger(__name__)


class RedisTransport:
    in_transaction = False

    def __init__(self, url: str, channel: str, *, resync: object,
                 min_backoff: float = 0.1, max_backoff: float = 5.0, client=None):
        import redis

        self._errors = (redis.RedisError, OSError)
        self._client = client or redis.Redis.from_url(url, socket_timeout=2,
                                                      socket_connect_timeout=2)
        self._channel = channel
        self._resync = resync
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def publish(self, session_ids: set[int], committed_at: float | None = None) -> None:
        try:
            self._client.publish(self._channel, format_changed(session_ids, committed_at))
        except self._errors as exc:
            metrics.REALTIME_DROPPED.labels(reason="publish_failed").inc()
            log.warning("realtime: Redis publish failed (%s)", exc.__class__.__name__)

    def start(self, deliver: Callable[[object], None]) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(deliver,), daemon=True,
                                        name="realtime-redis-listener")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self, deliver: Callable[[object], None]) -> None:
        failures, connections = 0, 0
        while not self._stop.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self._channel)
                failures = 0
                connections += 1
                self.connected.set()
                if connections > 1:
                    deliver(self._resync)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        data = message["data"]
                        data = data.decode() if isinstance(data, bytes) else str(data)
                        ids = parse_changed(data)
                        if ids:
                            deliver(ids)
            except self._errors as exc:
                failures += 1
                ceiling = min(self._max_backoff, self._min_backoff * 2 ** (failures - 1))
                log.warning("realtime: Redis subscription lost (%s); retrying",
                            exc.__class__.__name__)
                self._stop.wait(random.uniform(ceiling / 2, ceiling))
            finally:
                self.connected.clear()
                try:
                    pubsub.close()
                except self._errors:
                    pass
