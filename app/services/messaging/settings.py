"""What emails and documents need from the configuration, and how templates render.

`create_app` builds one `MessagingSettings` (from the config, with a
`JinjaTemplates` renderer over the app's own Jinja environment) and installs
it here; the outbox handlers, the scheduled jobs' ``send_*`` calls and the
document builders read it with `current()` (see app.services.core.installed
for why these, which have no caller to pass it, read an installed object).
Tests can pass their own settings to `emails.send_once`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from jinja2 import Environment

from app.services.core.installed import Installed
from app.services.core.provider import Provider


class TemplateRenderer(Protocol):
    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """The template `name` (e.g. "email/booking_confirmed.txt") rendered with `context`."""


class JinjaTemplates:
    """A TemplateRenderer over a Jinja environment (the app's: same loader,
    filters and autoescaping as the pages, none of a request's globals needed)."""

    def __init__(self, environment: Environment):
        self.environment = environment

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        return self.environment.get_template(name).render(context)


@dataclass(frozen=True)
class MessagingSettings:
    renderer: TemplateRenderer
    provider: Provider
    sender: str                            # MAIL_DEFAULT_SENDER
    admin_alert_emails: tuple[str, ...]    # empty: every active admin account
    password_reset_max_age: int            # seconds a reset link works
    secret_key: str                        # signs password reset tokens
    # Emails an anonymous visitor can cause, per recipient per hour (0 = no cap);
    # see app.services.messaging.emails.send_once.
    emails_per_recipient_per_hour: int = 0

    @classmethod
    def from_config(cls, config: Mapping, *, renderer: TemplateRenderer,
                    provider: Provider) -> "MessagingSettings":
        """`provider` is the one create_app installed (app.services.core.provider)."""
        return cls(
            renderer=renderer,
            provider=provider,
            sender=config["MAIL_DEFAULT_SENDER"],
            admin_alert_emails=tuple(a.strip() for a in
                                     (config.get("ADMIN_ALERT_EMAILS") or "").split(",")
                                     if a.strip()),
            password_reset_max_age=int(config["PASSWORD_RESET_MAX_AGE"]),
            secret_key=config["SECRET_KEY"],
            emails_per_recipient_per_hour=int(config.get("EMAILS_PER_RECIPIENT_PER_HOUR", 0)),
        )


_installed: Installed[MessagingSettings] = Installed("messaging settings object")


def install(settings: MessagingSettings) -> MessagingSettings:
    return _installed.install(settings)


def current() -> MessagingSettings:
    return _installed.get()
