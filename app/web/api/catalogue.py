"""Catalogue API: `GET /api/v1/courses`, `/sessions` and `/sessions/<id>`.

`GET /api/v1/sessions` takes `course` (slug), `town`, `from` and `to`
(YYYY-MM-DD, London dates, both inclusive), `month` (YYYY-MM), `page`
(default 1) and `per_page` (default 20, at most 100). Only upcoming
scheduled sessions are listed.

- An unknown course slug or town is a filter that matches nothing:
  200 with empty `items`, not an error.
- A bad value (page=0, per_page=1000, from=2026-13-45, from after to), an
  unknown parameter or a repeated one is a 422 whose `fields` name each one.
- A page past the last is 200 with empty `items`.
- `GET /api/v1/courses` takes no parameters and ignores any it is given.

Responses may be cached for 30 seconds, so `seats_available` can be that old;
the session page and the booking itself are always live.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import jsonify, request

from app.services.catalogue import listing
from app.services.catalogue.listing import CourseView, SessionView
from app.services.core.errors import InvalidInput
from app.validation.filters import SESSION_SEARCH_PARAMS
from app.web.api import bp
from app.web.links import site_links

CACHE_CONTROL = "public, max-age=30"


def iso_utc(value: datetime) -> str:
    """'2027-07-01T08:30:00Z'."""
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def course_to_json(course: CourseView) -> dict:
    return {
        "slug": course.slug,
        "title": course.title,
        "category": course.category,
        "summary": course.summary,
        "duration_days": course.duration_days,
        "duration_hours": course.duration_hours,
        "price_pence": course.price_pence,
        "certificate_validity_months": course.certificate_validity_months,
        "url": site_links().course_link(course.slug),
        "requalifies": ({"slug": course.requalifies[0], "title": course.requalifies[1]}
                        if course.requalifies else None),
    }


def session_to_json(session: SessionView) -> dict:
    """The API's session object (also used by the booking API)."""
    return {
        "id": session.id,
        "url": site_links().session_link(session.id),
        "course": {"slug": session.course_slug, "title": session.course_title},
        "starts_at": iso_utc(session.starts_at),
        "ends_at": iso_utc(session.ends_at),
        "venue": {
            "name": session.venue_name,
            "town": session.venue_town,
            "postcode": session.venue_postcode,
            "address": session.venue_address,
        },
        "capacity": session.capacity,
        "seats_available": session.seats_available,
        "price_pence": session.price_pence,
        "status": session.status,
        "bookable": session.is_bookable,
    }


def _cacheable(body: dict):
    response = jsonify(body)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def _parse_search():
    """The search parameters, refusing unknown or repeated ones along with bad values."""
    fields = {}
    for name in request.args:
        if name not in SESSION_SEARCH_PARAMS:
            fields[name] = f"Unknown parameter. Use: {', '.join(SESSION_SEARCH_PARAMS)}."
        elif len(request.args.getlist(name)) > 1:
            fields[name] = "Give this parameter once."
    try:
        search = listing.parse_session_search(request.args)
    except InvalidInput as exc:
        fields = {**exc.fields, **fields}
    if fields:
        raise InvalidInput("Some of the query parameters are not valid.", fields=fields)
    return search


@bp.get("/courses")
def catalogue_courses():
    return _cacheable({"items": [course_to_json(c) for c in listing.list_courses()]})


@bp.get("/sessions")
def catalogue_sessions():
    page = listing.search_sessions(_parse_search())
    return _cacheable({
        "items": [session_to_json(s) for s in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
    })


@bp.get("/sessions/<id:session_id>")
def catalogue_session(session_id: int):
    return _cacheable(session_to_json(listing.get_session(session_id)))
