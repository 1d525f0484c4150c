"""Who may open a live-availability WebSocket in this process.

Each open WebSocket holds one gunicorn thread for as long as it lasts, so
this process admits at most `max_per_process` of them (kept well under
GUNICORN_THREADS, so plain requests always find a thread) and at most
`max_per_client` from one client address (so one client cannot take them
all). Pure Python and per process: with WEB_CONCURRENCY processes a client
may hold up to that many times `max_per_client` in all.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

PER_CLIENT = "per_client_limit"
PER_PROCESS = "per_process_limit"


@dataclass(frozen=True)
class Slot:
    """One admitted connection; give it back with `ConnectionLimits.release`."""

    address: str


class ConnectionLimits:
    """Thread-safe counts of open connections, in all and per client address."""

    def __init__(self, *, max_per_client: int, max_per_process: int):
        self.max_per_client = max_per_client
        self.max_per_process = max_per_process
        self._lock = threading.Lock()
        self._by_address: Counter[str] = Counter()
        self._total = 0

    def admit(self, address: str) -> Slot | str:
        """A slot, or the reason (`PER_PROCESS`, `PER_CLIENT`) there is none."""
        with self._lock:
            if self._total >= self.max_per_process:
                return PER_PROCESS
            if self._by_address[address] >= self.max_per_client:
                return PER_CLIENT
            self._by_address[address] += 1
            self._total += 1
        return Slot(address)

    def release(self, slot: Slot) -> None:
        with self._lock:
            self._total -= 1
            self._by_address[slot.address] -= 1
            if self._by_address[slot.address] <= 0:
                del self._by_address[slot.address]

    @property
    def open(self) -> int:
        return self._total

    def open_from(self, address: str) -> int:
        return self._by_address.get(address, 0)
