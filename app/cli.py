"""Flask commands: `flask --app wsgi seed-demo`, `expire-holds`, ..."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    pass
