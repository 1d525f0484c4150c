"""`GET /metrics`: Prometheus text format, every gunicorn process summed.

With METRICS_TOKEN set the scraper must send `Authorization: Bearer <token>`;
without it the endpoint is open (production refuses to start that way unless
METRICS_PUBLIC=true says the network is private).
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from app.monitoring.access import bearer_token_ok
from app.monitoring.metrics import render_metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics():
    token = current_app.config.get("METRICS_TOKEN")
    if token and not bearer_token_ok(request.headers.get("Authorization"), token):
        response = jsonify(error={"code": "unauthorized",
                                  "message": "Metrics need the metrics bearer token.",
                                  "fields": {}})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = render_metrics()
    return Response(body, content_type=content_type)
