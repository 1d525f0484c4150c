"""Public certificate verification.

    verify.lookup       GET /verify?number=N   (the form; redirects to the page below)
    verify.certificate  GET /verify/<number>   genuine and valid / expired / unknown

An unknown or malformed number is a normal answer (404 with the page), never
an error. Pages carry no personal data beyond the name printed on the
certificate itself, and are not indexed.
"""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, url_for

from app.services.staff.certificates import normalise_number, verify_certificate
from app.web.htmx import no_store

bp = Blueprint("verify", __name__)


@bp.get("/verify")
def lookup():
    number = request.args.get("number", "")
    if number.strip():
        return redirect(url_for("verify.certificate",
                                number=normalise_number(number) or number.strip()[:40]),
                        code=303)
    return render_template("verify.html", check=None)


@bp.get("/verify/<path:number>")
def certificate(number: str):
    check = verify_certificate(number)
    return no_store(make_response(render_template("verify.html", check=check),
                                  200 if check.is_genuine else 404))
