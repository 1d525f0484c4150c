"""Objects the application factory builds once and services read.

Services take settings, not Flask: they never ask Flask for the current app.
What they need from the configuration is built once, at the edge, into plain
objects. A route passes what it has to the service it calls (``BookingPolicy``);
code with no caller to pass things in (outbox handlers run by the worker,
scheduled jobs, commit hooks) reads the object ``create_app`` installed in an
`Installed` slot: the site's links, the messaging settings, the payments
runtime, the live-availability hub.

A process runs one application (a web process, a worker process; the
in-process worker thread shares its web process's app), like the outbox
handler registry in app.services.core.events. A test that creates an app
installs that app's objects, replacing the previous test's.
"""
from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Installed(Generic[T]):
    """One slot, filled by ``create_app``; reading it before that is a clear error."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._value: T | None = None

    def install(self, value: T) -> T:
        self._value = value
        return value

    def get(self) -> T:
        if self._value is None:
            raise RuntimeError(f"no {self.what} is installed: create_app() installs it")
        return self._value

    def get_or_none(self) -> T | None:
        return self._value
