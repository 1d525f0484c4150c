"""The ceiling: a bare Flask route served by the project's gunicorn.conf.py.

`make bench` runs it under the same worker class, processes and threads as the
real app, so the ratio of a page's figure to this one is the share of what
Flask and gunicorn allow on this machine that the page reaches.
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"


@app.get("/health/ready")
def ready():
    return {"status": "ok"}
