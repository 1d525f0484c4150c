"""The alert rules, evaluated every minute by the background worker (the
``alert-rules`` scheduled job, so one worker runs each minute however many
there are).

Every rule reads figures every process shares: the traffic window
(app.services.oversight.traffic, written by all web processes), the payments
and outbox tables, the breaker states (shared through Redis when REDIS_URL is
set). Never one process's memory.

A rule answers with an `Evaluation`:

* ``findings``: subjects whose condition holds now; each is raised
  (app.services.core.alerts.raise_alert: a new alert, or a count on the open one);
* ``holding``: subjects whose condition still holds but which the rule does not
  raise again itself (they are raised where they happen: a dead letter by the
  dispatcher, low availability when the seats change);
* every other open alert of the rule's kind has cleared and is resolved
  automatically, unless the rule is not ``certain`` (it cannot see the shared
  state: breakers without Redis, which then resolve when a trial call closes them).

Alerts raised for one-off events (a refund that failed, a payment with no
booking) have no rule here and stay open until an administrator resolves them.

The rules, their thresholds and defaults are listed in README ("Operations").
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.models import Severity, utcnow
from app.repositories.alerts import AlertFiguresRepository, AlertRepository
from app.services.background import dispatcher
from app.services.core.alerts import raise_alert, resolve_alert
from app.services.oversight.traffic import traffic_summary
from app.services.payments.breakers import STATE_CLOSED, STATE_OPEN
from app.services.payments.runtime import BREAKER_ALERT_KIND, breaker_open_message, breaker_states
from app.services.realtime.announce import AVAILABILITY_KINDS, availability_alert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleSettings:
    window: timedelta = timedelta(minutes=5)
    error_rate: float = 0.05
    min_requests: int = 20
    database_errors: int = 1
    payment_failure_rate: float = 0.25
    min_payments: int = 4
    outbox_age_seconds: int = 600
    low_availability_threshold: int = 3
    breakers_shared: bool = False   # REDIS_URL set: every process sees the same breakers

    @classmethod
    def from_config(cls, config: Mapping) -> "RuleSettings":
        d = cls()
        return cls(
            window=timedelta(minutes=int(config.get("ALERT_WINDOW_MINUTES", 5))),
            error_rate=float(config.get("ALERT_ERROR_RATE", d.error_rate)),
            min_requests=int(config.get("ALERT_MIN_REQUESTS", d.min_requests)),
            database_errors=int(config.get("ALERT_DATABASE_ERRORS", d.database_errors)),
            payment_failure_rate=float(config.get("ALERT_PAYMENT_FAILURE_RATE",
                                                  d.payment_failure_rate)),
            min_payments=int(config.get("ALERT_MIN_PAYMENTS", d.min_payments)),
            outbox_age_seconds=int(config.get("OUTBOX_ALERT_AGE_SECONDS", d.outbox_age_seconds)),
            low_availability_threshold=int(config.get("LOW_AVAILABILITY_THRESHOLD",
                                                      d.low_availability_threshold)),
            breakers_shared=bool(config.get("REDIS_URL")))

    @property
    def window_words(self) -> str:
        minutes = round(self.window.total_seconds() / 60)
        return "minute" if minutes == 1 else f"{minutes} minutes"


@dataclass(frozen=True)
class Finding:
    subject: str
    message: str
    severity: Severity


@dataclass(frozen=True)
class Evaluation:
    findings: tuple[Finding, ...] = ()
    holding: frozenset[str] = frozenset()
    certain: bool = True


@dataclass(frozen=True)
class Rule:
    kind: str
    evaluate: Callable[[datetime, RuleSettings], Evaluation]


# -- the rules ----------------------------------------------------------------------------------
_CATEGORY_WORDS = {
    "database": "database errors", "internal": "unexpected errors",
    "external_service": "errors from services we call", "payment": "payment errors",
    "conflict": "conflicts", "validation": "rejected input", "not_found": "pages not found",
    "auth": "sign-in problems", "permission": "refused permissions",
    "rate_limited": "rate-limited requests",
}


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "0%"


def error_rate(now: datetime, settings: RuleSettings) -> Evaluation:
    summary = traffic_summary(now - settings.window, now)
    if summary.requests < settings.min_requests or summary.error_rate <= settings.error_rate:
        return Evaluation()
    causes = sorted(summary.errors_by_category.items(), key=lambda kv: (-kv[1], kv[0]))
    serious = [(c, n) for c, n in causes if c in ("database", "internal", "external_service",
                                                  "payment")][:3]
    mostly = ("; most were " + ", ".join(f"{_CATEGORY_WORDS.get(c, c)} ({n})"
                                         for c, n in serious)) if serious else ""
    share = _percent(summary.errors, summary.requests)
    return Evaluation(findings=(Finding("", (
        f"{summary.errors} of {summary.requests} requests ({share}) failed in the last "
        f"{settings.window_words}{mostly}. Customers are seeing error pages."),
        Severity.CRITICAL),))


def database_errors(now: datetime, settings: RuleSettings) -> Evaluation:
    failed = traffic_summary(now - settings.window, now).errors_by_category.get("database", 0)
    if failed < settings.database_errors:
        return Evaluation()
    requests = "1 request" if failed == 1 else f"{failed} requests"
    return Evaluation(findings=(Finding("", (
        f"{requests} failed in the last {settings.window_words} because the database could "
        "not be reached or refused the work. Check the database server and its connections."),
        Severity.CRITICAL),))


def payment_failure_rate(now: datetime, settings: RuleSettings) -> Evaluation:
    succeeded, failed = AlertFiguresRepository().card_payment_outcomes(now - settings.window, now)
    finished = succeeded + failed
    if finished < settings.min_payments or failed / finished <= settings.payment_failure_rate:
        return Evaluation()
    return Evaluation(findings=(Finding("", (
        f"{failed} of {finished} card payments ({_percent(failed, finished)}) failed in the "
        f"last {settings.window_words}. Check the Stripe dashboard for declines or an outage."),
        Severity.CRITICAL),))


def breaker_open(now: datetime, settings: RuleSettings) -> Evaluation:
    states = breaker_states()
    findings = tuple(Finding(name, breaker_open_message(name), Severity.CRITICAL)
                     for name, state in sorted(states.items()) if state == STATE_OPEN)
    # Half-open: a trial call decides; keep the alert as it is until then.
    holding = frozenset(name for name, state in states.items()
                        if state not in (STATE_OPEN, STATE_CLOSED))
    return Evaluation(findings=findings, holding=holding, certain=settings.breakers_shared)


def outbox_backlog(now: datetime, settings: RuleSettings) -> Evaluation:
    backlog = dispatcher.outbox_backlog(now=now)
    if backlog.oldest_pending_seconds <= settings.outbox_age_seconds:
        return Evaluation()
    waited = round(backlog.oldest_pending_seconds / 60)
    tasks = "1 email or task is" if backlog.pending == 1 else \
        f"{backlog.pending} emails and tasks are"
    return Evaluation(findings=(Finding("", (
        f"{tasks} waiting to go out; the oldest has waited {waited} minutes. Check that the "
        "background worker is running and look at the dead-letter list."), Severity.WARNING),))


def outbox_dead_letters(now: datetime, settings: RuleSettings) -> Evaluation:
    return Evaluation(holding=frozenset(AlertFiguresRepository().dead_deliveries_by_handler()))


def _availability(kind: str) -> Callable[[datetime, RuleSettings], Evaluation]:
    def evaluate(now: datetime, settings: RuleSettings) -> Evaluation:
        holding = set()
        for alert in AlertRepository().open_of_kind(kind):
            prefix, _, session_id = alert.subject.partition(":")
            if prefix != "session" or not session_id.isdigit():
                continue  # not a session (an alert from before subjects): resolve it
            now_kind, _ = availability_alert(int(session_id),
                                             settings.low_availability_threshold, now)
            if now_kind == kind:
                holding.add(alert.subject)
        return Evaluation(holding=frozenset(holding))
    return evaluate


RULES: tuple[Rule, ...] = (
    Rule("error_rate", error_rate),
    Rule("database_errors", database_errors),
    Rule(BREAKER_ALERT_KIND, breaker_open),
    Rule("payment_failure_rate", payment_failure_rate),
    Rule("outbox_backlog", outbox_backlog),
    Rule("outbox_dead_letter", outbox_dead_letters),
    *(Rule(kind, _availability(kind)) for kind in AVAILABILITY_KINDS),
)


# -- evaluating them ----------------------------------------------------------------------------
@dataclass
class RulesReport:
    raised: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"raised": self.raised, "resolved": self.resolved, "failed": self.failed}


def evaluate_rules(settings: RuleSettings, *, now: datetime | None = None,
                   rules: tuple[Rule, ...] = RULES) -> RulesReport:
    """Evaluate every rule once: raise what holds, resolve what cleared. A rule that
    fails is logged and skipped (its alerts stay as they are) so the others still run."""
    now = now or utcnow()
    report = RulesReport()
    for rule in rules:
        try:
            evaluation = rule.evaluate(now, settings)
            for finding in evaluation.findings:
                raise_alert(rule.kind, finding.message, severity=finding.severity,
                            subject=finding.subject, now=now)
            resolved = 0
            if evaluation.certain:
                firing = {f.subject for f in evaluation.findings} | evaluation.holding
                for alert in AlertRepository().open_of_kind(rule.kind):
                    if alert.subject not in firing:
                        resolved += resolve_alert(rule.kind, alert.subject, now=now)
        except Exception:  # one broken rule must not silence the others
            AlertRepository().end_read()
            log.exception("alert rule %s failed", rule.kind)
            report.failed.append(rule.kind)
            continue
        if evaluation.findings:
            report.raised[rule.kind] = len(evaluation.findings)
        if resolved:
            report.resolved[rule.kind] = resolved
    return report


def alert_rules_job(now: datetime, config: Mapping) -> dict:
    """The scheduler's ``alert-rules`` job."""
    return evaluate_rules(RuleSettings.from_config(config), now=now).as_dict()


__all__ = ["RULES", "Evaluation", "Finding", "Rule", "RuleSettings", "alert_rules_job",
           "evaluate_rules"]
