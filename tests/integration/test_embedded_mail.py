"""The embedded mode's promise: a booking made through the pages produces the
confirmation email (with its .ics and PDF) under instance/mail/ with no manual
step, because the web process runs the dispatcher in a thread."""
from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from app.worker import Worker, start_in_process_worker

from notify_helpers import summer_session

ROOT = Path(__file__).resolve().parents[2]
FORM = {
    "contact-name": "Priya Shah", "contact-email": "priya@example.com",
    "contact-phone": "07700 900123", "contact-postcode": "LS1 4AP", "contact-company": "",
    "seats": "1", "action": "book", "accept_terms": "y", "attendees-0-name": "Learner A",
    "attendees-0-email": "", "attendees-0-access_needs": "",
}


def wait_for_emails(maildir: Path, timeout: float = 60) -> list[email.message.Message]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(maildir.glob("*.eml"))
        if found:
            return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                    for p in found]
        time.sleep(0.1)
    raise AssertionError(f"no email appeared in {maildir}")


def pay(post, url: str, **extra) -> None:
    """Press "pay" on the booking's pay page and on any (fake) checkout page it leads to."""
    for _ in range(3):
        response = post(url, {"action": "pay", **extra})
        assert response.status_code in (302, 303), response.status_code
        url = response.headers["Location"]
        if "/checkout/" not in url:
            return
    raise AssertionError("the payment never finished")


def assert_confirmation(message, reference: str) -> None:
    assert message["Subject"].startswith("Booking confirmed:")
    assert reference in message["Subject"]
    assert {p.get_filename() for p in message.iter_attachments()} == {
        f"{reference}.ics", f"receipt-{reference}.pdf"}


@pytest.fixture
def app_config(tmp_path):
    return {"MAIL_BACKEND": "app.services.messaging.mail_backend", "MAIL_FILE_PATH": str(tmp_path / "mail"),
            "WORKER_POLL_SECONDS": 0}


def test_the_in_process_worker_sends_the_confirmation_of_a_booking_made_in_the_pages(
        app, client, tmp_path):
    assert start_in_process_worker(app) is None  # tests never get one by surprise
    worker = Worker(app)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        course_session = summer_session()
        pay_url = client.post(f"/sessions/{course_session.id}/book", data=FORM) \
            .headers["Location"]
        pay(lambda url, data: client.post(url, data=data), pay_url)
        reference = pay_url.split("/")[-2]
        (message,) = wait_for_emails(tmp_path / "mail")
    finally:
        worker.stop()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert_confirmation(message, reference)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) \
        or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, html[:2000]
    return match.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_make_run_style_gunicorn_sends_the_confirmation_email_by_itself(app, database_url,
                                                                        backend, tmp_path):
    """gunicorn with gunicorn.conf.py (as `make run` starts it), two worker
    processes each with its in-process dispatcher: one email, no manual step."""
    if backend != "sqlite":
        pytest.skip("the embedded mode is SQLite; the worker processes are tested on both")
    course_session = summer_session()
    port = free_port()
    instance = tmp_path / "instance"
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "development",
           "INSTANCE_PATH": str(instance), "PORT": str(port), "WEB_CONCURRENCY": "2",
           "WORKER_POLL_SECONDS": "1", "SEED_DEMO": "0", "PAYMENT_PROVIDER": "fake"}
    env.pop("MAIL_SERVER", None), env.pop("MAIL_BACKEND", None)
    log_path = tmp_path / "gunicorn.log"
    log = open(log_path, "w")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                               "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=log,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        http = requests.Session()
        http.trust_env = False  # loopback only, never through a proxy
        deadline = time.monotonic() + 60
        while True:
            try:
                if http.get(f"{base}/health/live", timeout=2).ok:
                    break
            except requests.RequestException:  # not listening or still booting
                pass
            assert server.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.3)

        def absolute(url: str) -> str:
            return url if url.startswith("http") else base + url

        form_page = http.get(f"{base}/sessions/{course_session.id}/book", timeout=10).text
        held = http.post(f"{base}/sessions/{course_session.id}/book",
                         data={**FORM, "csrf_token": csrf_of(form_page)}, allow_redirects=False,
                         timeout=10)
        assert held.status_code == 303, held.text[:2000]
        pay_url = absolute(held.headers["Location"])
        reference = pay_url.split("?")[0].split("/")[-2]

        def post_with_csrf(url, data):
            url = absolute(url)
            return http.post(url, data={**data, "csrf_token": csrf_of(http.get(url).text)},
                             allow_redirects=False, timeout=10)

        pay(post_with_csrf, pay_url)

        try:
            messages = wait_for_emails(instance / "mail")
        except AssertionError:
            raise AssertionError(log_path.read_text()[-4000:]) from None
        time.sleep(2)  # the other process's dispatcher had its chance to double-send
        messages = wait_for_emails(instance / "mail")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    assert len(messages) == 1
    assert_confirmation(messages[0], reference)
