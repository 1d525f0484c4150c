"""Liveness and readiness probes."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/health/live")
def live():
    return jsonify(status="ok")


@bp.get("/health/ready")
def ready():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means not ready
        return jsonify(status="unavailable", checks={"database": str(exc.__class__.__name__)}), 503
    finally:
        db.session.rollback()
    return jsonify(status="ok", checks={"database": "ok"})
