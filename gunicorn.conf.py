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
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "1000"))
# gthread counts kept-alive HTTP connections here too: leave room above `threads`.
worker_connections = threads + 500
timeout = 60
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"

# Seconds a Python thread may run before it must hand the GIL over (Python's
# default is 0.005). One seat change wakes every subscriber's thread at once;
# with 5 ms the hub's thread is forced off the GIL half-way through queueing
# the fragment for them and then waits behind hundreds of threads. Threads
# that only do I/O give the GIL up at each send anyway. Measured in README.
switch_interval = float(os.environ.get("GUNICORN_SWITCH_INTERVAL", "0.05"))


def post_fork(server, worker):
    # A thousand threads at the default 8 MiB of stack each reserve 8 GiB of
    # address space for nothing; 1 MiB is plenty for a request.
    threading.stack_size(1024 * 1024)
    sys.setswitchinterval(switch_interval)


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
