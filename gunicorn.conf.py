"""gunicorn settings used by `make run` (and production, overridden by environment).

Worker model: gthread with many threads. Every open WebSocket
(/ws/availability, one per open page) holds one thread of its process for as
long as the page stays open, so GUNICORN_THREADS is the number of pages one
process can keep live at once *plus* the headroom plain requests need. Idle
threads cost nothing (the pool grows on demand); a live WebSocket costs two
threads (ours and simple-websocket's reader) and about 80 KB of memory.
Measured figures, and why gthread and not gevent, are in README.md,
"Live availability".
"""
import os
import sys
import threading

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
# gthread plus a read deadline per request (REQUEST_READ_TIMEOUT_SECONDS): a body
# that never finishes must not hold a thread for ever. See gunicorn_worker.py.
worker_class = "gunicorn_worker.DeadlineThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "1000"))
# gthread counts kept-alive HTTP connections here too: leave room above `threads`.
worker_connections = threads + 500
timeout = 60
graceful_timeout = 10
keepalive = 5
# Logs are JSON lines with secrets redacted (app/monitoring/logs.py). The access
# line is the application's own (request id, route rule, user, error id), written
# where GUNICORN_ACCESS_LOG says ("-" stdout, a file, empty for none); gunicorn's
# own access line, with the raw URL and its tokens, is not written.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
logger_class = "app.monitoring.logs.GunicornLogger"

# Seconds a Python thread may run before it must hand the GIL over (Python's
# default is 0.005). One seat change wakes every subscriber's thread at once;
# with 5 ms the hub's thread is forced off the GIL half-way through queueing
# the fragment for them and then waits behind hundreds of threads. Threads
# that only do I/O give the GIL up at each send anyway. Measured in README.
switch_interval = float(os.environ.get("GUNICORN_SWITCH_INTERVAL", "0.05"))


# glibc gives threads that allocate malloc arenas of their own (up to 8 per
# core) and memory freed in one stays resident there: after a burst of
# WebSockets and requests on hundreds of threads a worker kept tens of MB it no
# longer used. The GIL runs one thread at a time, so a few arenas serve as well.
malloc_arenas = int(os.environ.get("GUNICORN_MALLOC_ARENAS", "2"))


def _limit_malloc_arenas(arenas: int) -> None:
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return
    mallopt = getattr(libc, "mallopt", None)  # glibc only
    if mallopt is not None and arenas > 0:
        mallopt(-8, arenas)  # M_ARENA_MAX


def post_fork(server, worker):
    _limit_malloc_arenas(malloc_arenas)
    # A thousand threads at the default 8 MiB of stack each reserve 8 GiB of
    # address space for nothing; 1 MiB is plenty for a request.
    threading.stack_size(1024 * 1024)
    sys.setswitchinterval(switch_interval)
    # Tracing (when OTEL_* asks for it): a provider and export thread of this worker's own.
    from app.monitoring.tracing import start_tracing
    start_tracing()


# -- the in-process outbox worker (embedded mode; issue 6, keep these hooks) ------
# Each gunicorn worker process starts the dispatcher + scheduler thread when
# RUN_WORKER_IN_PROCESS is on (default in development). With several processes
# that is still safe: deliveries are leased (SKIP LOCKED on PostgreSQL) and
# jobs claim their slot, so nothing is done twice. Production turns it off and
# runs `flask --app wsgi worker` processes instead.
def post_worker_init(worker):
    from flask import Flask

    from app.worker import start_in_process_worker

    app = worker.wsgi if isinstance(worker.wsgi, Flask) else __import__("wsgi").app
    worker._outbox_worker = start_in_process_worker(app)


def worker_exit(server, worker):
    outbox_worker = getattr(worker, "_outbox_worker", None)
    if outbox_worker is not None:
        outbox_worker.stop()


# -- Prometheus multiprocess mode -------------------------------------------------
# Each worker writes its figures to files in PROMETHEUS_MULTIPROC_DIR and
# `GET /metrics` (in whichever worker answers) sums every file. The library
# chooses that mode when it is first imported, so the variable is set here, in
# the master, while gunicorn reads this file: before any worker (or the app,
# even with --preload) imports prometheus_client; forked workers inherit it.
# An operator's value is kept (`flask worker` processes on the same host may be
# given the same directory so their counts appear too); otherwise a private
# directory is made under the system temp dir and removed on exit.
_PROMETHEUS_DIR_OURS = "BOOKING_PROMETHEUS_DIR_CREATED"


def _prometheus_multiproc_dir() -> str:
    import tempfile

    current = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if current:
        return current
    created = tempfile.mkdtemp(prefix="booking-prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
    os.environ[_PROMETHEUS_DIR_OURS] = created  # a config reload (HUP) keeps using it
    return created


prometheus_multiproc_dir = _prometheus_multiproc_dir()


def on_starting(server):
    """Start from zero: files left by an earlier run would be summed in."""
    import glob

    os.makedirs(prometheus_multiproc_dir, exist_ok=True)
    for stale in glob.glob(os.path.join(prometheus_multiproc_dir, "*.db")):
        os.remove(stale)


def child_exit(server, worker):
    """A dead worker's live gauges (open WebSockets, pool connections) stop counting;
    its counters stay, so totals never go backwards."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, prometheus_multiproc_dir)


def on_exit(server):
    if os.environ.get(_PROMETHEUS_DIR_OURS) == prometheus_multiproc_dir:
        import shutil

        shutil.rmtree(prometheus_multiproc_dir, ignore_errors=True)
