"""Liveness and readiness probes, and Prometheus metrics."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from app.monitoring.health import readiness
from app.monitoring.metrics import render_metrics

bp = Blueprint("health", __name__)


@bp.get("/health/live")
def live():
    return jsonify(status="ok")


@bp.get("/health/ready")
def ready():
    is_ready, checks = readiness()
    return jsonify(status=checks.pop("status"), checks=checks), 200 if is_ready else 503


@bp.get("/metrics")
def metrics():
    return Response(render_metrics(), mimetype="text/plain; version=0.0.4")
