"""One place that maps errors to responses: JSON under /api, pages or fragments elsewhere.

Every exception that reaches here is classified first (app.monitoring.errors:
category, severity, counted, logged); the answer shows a sentence fit for the
user, never an exception's text, and for error/critical the reference under
which the traceback was logged.
"""
from __future__ import annotations

from flask import Flask, jsonify, make_response, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.monitoring.errors import ErrorInfo, report
from app.services.core.errors import DomainError
from app.web.htmx import page_or_fragment

# What people read when the failure is ours, by category (never the exception's text).
UNEXPECTED = {
    "database": "We are having trouble reaching our records. Please try again in a minute.",
    "external_service": "A service we rely on is not answering. Please try again in a minute.",
    "payment": "Card payments are not working at the moment. Please try again shortly.",
}
INTERNAL = "Something went wrong on our side. Please try again."
# Seconds a client (or Stripe, or a load balancer) is told to wait when the failure is
# an outage that passes (the database or a provider unreachable), answered 503; a bug
# stays a 500.
RETRY_AFTER_SECONDS = 30


def unexpected_status(error: ErrorInfo) -> int:
    outage = (error.category == "database" and error.severity == "critical"
              or error.category == "external_service")
    return 503 if outage else 500


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/webhooks/")


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   error: ErrorInfo | None = None):
    """Render an error as the API's JSON error object or as an HTML page (with the
    error's reference when it has one)."""
    reference = error.id if error is not None else None
    if wants_json():
        body = {"error": {"code": code, "message": message, "fields": fields or {}}}
        if error is not None:
            body["error"].update(id=reference, category=error.category)
        return jsonify(body), status
    return page_or_fragment("error.html", "fragments/_error.html", status,
                            status=status, code=code, message=message, fields=fields or {},
                            reference=reference)


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return error_response(exc.status, exc.code, exc.message, exc.fields, report(exc))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, "csrf_failed",
                              "Your form expired. Please reload the page and try again.",
                              error=report(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        error = report(exc)
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        if status >= 500 and exc.description == type(exc).description:
            message = UNEXPECTED.get(error.category, INTERNAL)
        else:
            message = exc.description or exc.name
        return error_response(status, code, message, error=error)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        error = report(exc)
        status = unexpected_status(error)
        response = make_response(error_response(
            status, "internal_error" if status == 500 else "temporarily_unavailable",
            UNEXPECTED.get(error.category, INTERNAL), error=error))
        if status == 503:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
