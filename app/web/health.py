"""Liveness and readiness probes (Prometheus metrics: app.web.metrics).

`/health/live` touches nothing: it answers while the process can answer.
`/health/ready` runs the checks of app.monitoring.health; everyone sees the
status (and the 503), only a caller with the metrics token or a signed-in
administrator sees the checks behind it.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app.models import Role
from app.monitoring.access import bearer_token_ok

bp = Blueprint("health", __name__)


@bp.get("/health/live")
def live():
    return _no_store(jsonify(status="ok"))


@bp.get("/health/ready")
def ready():
    result = current_app.extensions["health"].readiness()
    body = result.detail() if _may_see_detail() else result.public()
    return _no_store(jsonify(body)), result.http_status


def _may_see_detail() -> bool:
    if bearer_token_ok(request.headers.get("Authorization"),
                       current_app.config.get("METRICS_TOKEN")):
        return True
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return False  # a load balancer's probe: no user to load
    try:
        return bool(current_user.is_authenticated and current_user.is_active
                    and current_user.role == Role.ADMIN)
    except SQLAlchemyError:  # the database is down: nobody can be recognised
        return False


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
