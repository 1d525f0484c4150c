"""The test suite's fake Stripe (tests/fakes/stripe_server.py) as a process of
its own for `make bench`: prints its URL, serves until SIGTERM or SIGINT."""
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.stripe_server import FakeStripeServer  # noqa: E402

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = FakeStripeServer().start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
