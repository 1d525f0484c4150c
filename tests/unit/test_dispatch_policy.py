"""Retry delays: exponential, capped, and spread by jitter."""
import random
from datetime import timedelta

from app.services.background.dispatcher import DispatchPolicy

POLICY = DispatchPolicy(backoff_base_seconds=30, backoff_max_seconds=3600)


def test_delay_doubles_with_each_failed_attempt_within_half_to_full():
    for attempts, ceiling in [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480)]:
        for seed in range(20):
            delay = POLICY.backoff(attempts, random.Random(seed))
            assert timedelta(seconds=ceiling / 2) <= delay <= timedelta(seconds=ceiling)


def test_delay_is_capped():
    delay = POLICY.backoff(50, random.Random(1))
    assert timedelta(seconds=1800) <= delay <= timedelta(seconds=3600)


def test_jitter_spreads_retries_of_simultaneous_failures():
    delays = {POLICY.backoff(3, random.Random(seed)) for seed in range(50)}
    assert len(delays) > 40


def test_policy_reads_configuration():
    policy = DispatchPolicy.from_config({
        "OUTBOX_MAX_ATTEMPTS": 4, "OUTBOX_BACKOFF_BASE_SECONDS": 5,
        "OUTBOX_BACKOFF_MAX_SECONDS": 50, "OUTBOX_LEASE_SECONDS": 9, "OUTBOX_BATCH_SIZE": 3})
    assert policy == DispatchPolicy(max_attempts=4, backoff_base_seconds=5,
                                    backoff_max_seconds=50, lease_seconds=9, batch_size=3)
