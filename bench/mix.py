"""Scenario (e): USERS simulated customers for DURATION seconds, each in a loop:
browse the calendar and a session page, hold 1-4 seats (POST /api/v1/bookings),
then either cancel (CANCEL_SHARE of the time, POST /api/v1/bookings/<ref>/cancel)
or pay: the hold page (GET, for its CSRF token), "Pay" (POST, answered with a
redirect to Stripe Checkout, here the fake Stripe server), the session is read
back from the fake Stripe and completed as a customer's payment would, and the
signed ``checkout.session.completed`` webhook is POSTed to /webhooks/stripe, as
Stripe sends it; then the confirmation page.

One asyncio process (aiohttp), one connection pool per user. Writes JSON to
--out: completed bookings per second, latency percentiles over every request,
the same per completed booking, errors (any answer that is not 2xx/3xx, socket
errors and timeouts), and the CPU share this process used: near 100% would mean
the client, not the server, is the limit.

    python bench/mix.py --base http://127.0.0.1:PORT --stripe http://127.0.0.1:PORT2 \
        [--users 50] [--duration 10] --sessions 1,2,3 --out mix.json
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import re
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.stripe_server import SECRET_KEY, event, sign  # noqa: E402

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
CANCEL_SHARE = 0.1
_emails = itertools.count(1)


class Stats:
    def __init__(self):
        self.latencies: list[float] = []
        self.flows: list[float] = []
        self.errors: dict[str, int] = {}
        self.completed = self.cancelled = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def call(http: aiohttp.ClientSession, stats: Stats, method: str, url: str, **kwargs):
    """One request, timed; (status, text, headers), or None after a socket error."""
    started = time.perf_counter()
    try:
        async with http.request(method, url, allow_redirects=False, **kwargs) as response:
            text = await response.text()
            stats.latencies.append(time.perf_counter() - started)
            if response.status >= 400:
                stats.error(f"{method} {urlsplit(url).path.split('/')[1]} {response.status}")
            return response.status, text, response.headers
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        stats.error(f"{method} socket {type(exc).__name__}")
        return None


async def user(base: str, stripe: str, sessions: list[int], run: str, stop_at: float,
               stats: Stats) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1 too
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, cookie_jar=jar, timeout=timeout) as http, \
            aiohttp.ClientSession(stripe, timeout=timeout) as stripe_http:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            session_id = random.choice(sessions)
            await call(http, stats, "GET", "/sessions")
            await call(http, stats, "GET", f"/sessions/{session_id}")
            seats = random.randint(1, 4)
            body = {"session_id": session_id,
                    "contact": {"name": "Mix Client", "phone": "07700 900123",
                                "email": f"mix-{run}-{next(_emails)}@example.com",
                                "postcode": "LS1 4AP", "company": ""},
                    "attendees": [{"name": f"Mix Learner {chr(65 + i)}", "email": ""}
                                  for i in range(seats)],
                    "accept_terms": True}
            held = await call(http, stats, "POST", "/api/v1/bookings", json=body)
            if held is None or held[0] != 201:
                continue
            hold = json.loads(held[1])
            if random.random() < CANCEL_SHARE:
                token = parse_qs(urlsplit(hold["manage_url"]).query)["token"][0]
                done = await call(http, stats, "POST",
                                  f"/api/v1/bookings/{hold['reference']}/cancel?token={token}")
                if done is not None and done[0] < 300:
                    stats.cancelled += 1
                continue
            pay_path = path_of(hold["payment_url"])
            page = await call(http, stats, "GET", pay_path)
            match = page and CSRF.search(page[1])
            if not match:
                stats.error("pay page without a CSRF token")
                continue
            paid = await call(http, stats, "POST", pay_path,
                              data={"csrf_token": match.group(1) or match.group(2),
                                    "action": "pay"})
            if paid is None or paid[0] != 303:
                continue
            checkout_id = urlsplit(paid[2]["Location"]).path.rsplit("/", 1)[-1]
            # The customer pays on Stripe's page; Stripe then sends the webhook.
            async with stripe_http.get(f"/v1/checkout/sessions/{checkout_id}",
                                       headers={"Authorization": f"Bearer {SECRET_KEY}"}) as r:
                session = await r.json()
            session.update(status="complete", payment_status="paid",
                           payment_intent=f"pi_bench_{run}_{checkout_id}")
            payload = event("checkout.session.completed", session)
            hooked = await call(http, stats, "POST", "/webhooks/stripe", data=payload,
                                headers={"Stripe-Signature": sign(payload),
                                         "Content-Type": "application/json"})
            if hooked is None or hooked[0] >= 300:
                continue
            manage = path_of(hold["manage_url"])
            await call(http, stats, "GET", manage.replace("?", "/confirmation?", 1))
            stats.completed += 1
            stats.flows.append(time.perf_counter() - started)


def percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    at = lambda pct: round(ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000, 3)  # noqa: E731
    return {"p50": at(50), "p95": at(95), "p99": at(99), "max": round(ordered[-1] * 1000, 3)}


async def main_async(args) -> dict:
    stats = Stats()
    sessions = [int(s) for s in args.sessions.split(",")]
    started, cpu = time.monotonic(), time.process_time()
    stop_at = started + args.duration
    await asyncio.gather(*(user(args.base, args.stripe, sessions, args.run, stop_at, stats)
                           for _ in range(args.users)))
    wall = time.monotonic() - started
    return {
        "users": args.users, "duration_s": round(wall, 3),
        "completed_bookings": stats.completed, "cancelled_holds": stats.cancelled,
        "completed_per_s": round(stats.completed / wall, 2),
        "requests": len(stats.latencies), "rps": round(len(stats.latencies) / wall, 2),
        "latency_ms": percentiles(stats.latencies),
        "booking_flow_ms": percentiles(stats.flows),
        "errors": {"total": sum(stats.errors.values()), **stats.errors},
        "client_cpu_share": round((time.process_time() - cpu) / wall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--stripe", required=True)
    parser.add_argument("--sessions", required=True)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--run", default=str(int(time.time())))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    Path(args.out).write_text(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
