"""The browser suite's own checks can fail: a seeded accessibility problem is
caught and reported readably (only serious or critical ones fail), a script the
Content Security Policy blocks is noticed, and a page left unchecked is named."""
import pytest

from factories import SessionFactory

pytestmark = pytest.mark.e2e


def test_axe_check_fails_on_a_serious_violation_and_names_it(live_server, page, axe_check):
    session = SessionFactory()
    page.goto(f"{live_server}/sessions/{session.id}")
    axe_check(page)
    page.evaluate("""() => {
        const input = document.createElement('input');   // no label: critical
        input.id = 'seeded-unlabelled';
        document.querySelector('main').append(input);
    }""")
    with pytest.raises(AssertionError) as failure:
        axe_check(page)
    message = str(failure.value)
    assert "label (critical)" in message and "#seeded-unlabelled" in message
    assert f"/sessions/{session.id}" in message


def test_axe_check_lets_moderate_findings_pass(live_server, page, axe_check):
    session = SessionFactory()
    page.goto(f"{live_server}/sessions/{session.id}")
    # Content outside every landmark: axe reports it as "moderate", which passes.
    page.evaluate("""() => {
        const div = document.createElement('div');
        div.innerHTML = '<p id="seeded-outside-landmark">Outside every landmark</p>';
        document.body.append(div);
    }""")
    findings = page.evaluate("""async () => {
        if (typeof axe === 'undefined') { return null; }
        return (await axe.run()).violations.map(v => v.id);
    }""")
    assert findings is None  # axe is injected by axe_check only
    axe_check(page)
    impacts = page.evaluate(
        "async () => (await axe.run()).violations.map(v => [v.id, v.impact])")
    assert ["region", "moderate"] in impacts


def test_a_script_blocked_by_the_content_security_policy_is_noticed(
        live_server, page, axe_check, browsing):
    page.goto(f"{live_server}/sessions")
    axe_check(page)
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate("""() => {
            const script = document.createElement('script');   // inline: refused by the CSP
            script.textContent = 'window.__ran = true';
            document.body.append(script);
        }""")
    assert page.evaluate("window.__ran") is None
    assert any("Content Security Policy" in v for v in browsing.csp_violations)
    browsing.csp_violations.clear()  # seen; the fixture's own check would fail the test


def test_a_page_loaded_but_not_checked_is_named(live_server, page, axe_check, browsing):
    page.goto(f"{live_server}/courses")
    assert browsing.unchecked() == ["/courses"]
    axe_check(page)
    assert browsing.unchecked() == []
