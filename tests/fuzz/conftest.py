"""A line in the run's summary with the hostile-input corpus totals (summed over xdist
workers from each test's recorded properties)."""
from __future__ import annotations

from collections import Counter

_totals: Counter = Counter()


def pytest_runtest_logreport(report):
    if report.when == "call":
        for name, value in report.user_properties:
            if name in ("hostile_requests", "hostile_5xx"):
                _totals[name] += value


def pytest_terminal_summary(terminalreporter):
    if _totals:
        terminalreporter.section("hostile-input corpus")
        terminalreporter.write_line(f"{_totals['hostile_requests']} hostile requests sent, "
                                    f"{_totals['hostile_5xx']} answered 5xx")
