"""The browser suite's own fixtures: pages that are checked with axe-core and
leave a screenshot behind.

`open_page(viewport=PHONE)` opens a page in a fresh browser context (its own
cookies, so two of them are two customers). Every page a test loads must be
checked with `axe_check(page)` while it is shown: axe-core (from npm, pinned in
package-lock.json, installed by `make browser` with `npm ci`) runs in the page
and the test fails on any serious or critical violation. At the end of the
test every page it loaded is compared with the pages it checked, so a journey
cannot visit a page without checking it; and any Content Security Policy
violation the browser reported (a blocked inline script or handler) fails it
too.

axe is injected by evaluating its source through the DevTools protocol, which
the page's CSP does not govern; `add_script_tag` would add an inline script,
which a strict CSP rightly blocks. So the contexts keep enforcing the site's
real CSP (no `bypass_csp`), and the journeys also prove the pages work under it.

Each test keeps a full-page screenshot of every page it opened, as it was at
the end (passed or failed), in test-artifacts/ (E2E_ARTIFACTS_DIR).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from e2e_steps import PHONE

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or ROOT / "test-artifacts")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

FAILING_IMPACTS = ("serious", "critical")

# Every rule axe runs by default (WCAG 2.0-2.2 A and AA, best practices); only
# serious and critical violations fail a test.
AXE_RUN = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary || ""})),
  }));
}"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        message = (f"axe-core is not installed ({AXE_JS.relative_to(ROOT)} is missing): "
                   "run `make browser` (needs npm), or `npm ci` at the repository root")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return AXE_JS.read_text(encoding="utf-8")


def _page_key(url: str) -> str:
    """A visited page as the checks compare it: the path, without query or token."""
    return urlsplit(url).path


def format_violations(url: str, violations: list[dict]) -> str:
    lines = [f"axe-core: {len(violations)} serious or critical violation(s) on {url}"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:5]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    at {node['target']}: {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more element(s)")
    return "\n".join(lines)


class Browsing:
    """The pages a test opened, what they loaded, and what was checked."""

    def __init__(self, browser, source: str):
        self.browser = browser
        self.source = source
        self.pages: list = []
        self.contexts: list = []
        self.loaded: list[str] = []
        self.checked: set[str] = set()
        self.csp_violations: list[str] = []

    def open(self, viewport=PHONE):
        context = self.browser.new_context(viewport=viewport, locale="en-GB")
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("load", lambda loaded: self.loaded.append(loaded.url))
        page.on("console", lambda message: self._console(page, message))
        self.pages.append(page)
        return page

    def _console(self, page, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_violations.append(f"{page.url}: {message.text}")

    def check(self, page) -> None:
        """Run axe-core on the page as it is now; fail on serious or critical violations."""
        page.wait_for_load_state("load")
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(self.source)
        violations = [v for v in page.evaluate(AXE_RUN) if v["impact"] in FAILING_IMPACTS]
        self.checked.add(_page_key(page.url))
        assert not violations, format_violations(page.url, violations)

    def unchecked(self) -> list[str]:
        return sorted({_page_key(url) for url in self.loaded} - self.checked)

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, page in enumerate(self.pages):
            suffix = "" if index == 0 else f"-{index + 1}"
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True,
                                timeout=5_000)
            except Exception as exc:  # a crashed or closed page must not hide the result
                print(f"no screenshot of {name}{suffix}: {exc}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::")[-1]).strip("_")


@pytest.fixture
def browsing(browser, axe_source, request):
    session = Browsing(browser, axe_source)
    yield session
    session.screenshot(artifact_name(request.node.nodeid))
    session.close()
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if not failed:
        assert not session.csp_violations, (
            "the browser reported Content Security Policy violations:\n"
            + "\n".join(session.csp_violations))
        assert not session.unchecked(), (
            f"pages loaded but never checked with axe_check: {session.unchecked()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so fixtures know whether it failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def open_page(browsing):
    """`open_page(viewport=PHONE)`: a page in a fresh browser context."""
    return browsing.open


@pytest.fixture
def page(open_page):
    """The phone-sized page most journeys use (replaces tests/conftest.py's)."""
    return open_page(PHONE)


@pytest.fixture
def axe_check(browsing):
    """`axe_check(page)`: check the page now shown with axe-core."""
    return browsing.check
