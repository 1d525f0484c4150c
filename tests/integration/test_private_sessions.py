"""Private sessions (on-site training arranged from an enquiry): on no public list,
answered 404 at their plain addresses, and bookable through their private link.

Each test has a public session of the same course, at the same town and in the same
month, next to the private one: a filter that let the private one through would show
both, so every check compares against a list that does contain something."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Booking, utcnow
from app.services.bookings import holds
from app.services.catalogue import timetable
from app.services.core.errors import NotFound
from app.services.realtime import announce
from app.services.realtime.hub import Rooms, SubscriberRegistry, Subscription

from factories import CourseFactory, SessionFactory, VenueFactory, booking_request

PRIVATE_VENUE = "Acme Widgets Private Site"


def form_data(seats: int, **overrides) -> dict:
    """The booking form as a browser posts it, with `seats` attendees."""
    data = {"contact-name": "Priya Shah", "contact-email": "priya@example.com",
            "contact-phone": "07700 900123", "contact-postcode": "ls1 4ap",
            "contact-company": "Acme Ltd", "seats": str(seats), "accept_terms": "y",
            "action": "book"}
    for index in range(seats):
        data[f"attendees-{index}-name"] = f"Learner {chr(65 + index)}"
    return {**data, **overrides}


@pytest.fixture
def pair(app, admin_user):
    """A public session and a private one of one course, in one town, a day apart."""
    course = CourseFactory(slug="first-aid-at-work", title="First Aid at Work")
    starts = (utcnow() + timedelta(days=40)).replace(hour=9, minute=0, second=0, microsecond=0)
    public = SessionFactory(course=course, starts_at=starts,
                            venue=VenueFactory(name="Leeds Centre", town="Leeds"))
    site = VenueFactory(name=PRIVATE_VENUE, town="Leeds", postcode="LS9 8AG")
    day = (starts + timedelta(days=1)).astimezone(timetable.LONDON).date()
    [private] = timetable.create_sessions(admin_user.id, {
        "course_id": str(course.id), "venue_id": str(site.id), "date": day.isoformat(),
        "start_time": "09:00", "end_time": "16:30", "capacity": "10"}, private=True)
    return public, private


def month_of(session) -> str:
    return session.starts_at.astimezone(timetable.LONDON).strftime("%Y-%m")


def day_of(session, days: int = 0) -> str:
    return (session.starts_at.astimezone(timetable.LONDON).date()
            + timedelta(days=days)).isoformat()


def public_queries(public, private) -> list[str]:
    """The calendar's filters alone and together, each one matching the public session."""
    return ["", "course=first-aid-at-work", "town=Leeds", "town=leeds",
            f"month={month_of(private)}", f"from={day_of(public)}",
            f"from={day_of(public)}&to={day_of(private)}",
            f"course=first-aid-at-work&town=Leeds&month={month_of(public)}"
            f"&from={day_of(public)}&to={day_of(private, 7)}",
            "per_page=100", "page=1&per_page=1"]


def test_the_private_session_is_on_no_public_page(client, pair):
    public, private = pair
    pages = {f"/sessions?{q}": {} for q in public_queries(public, private)}
    pages.update({"/sessions?course=first-aid-at-work&town=Leeds": {"HX-Request": "true"},
                  "/courses/first-aid-at-work": {}, "/": {}, "/courses": {}})
    for url, headers in pages.items():
        response = client.get(url, headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert PRIVATE_VENUE not in html and private.private_token not in html, url
        assert f"/sessions/{private.id}\"" not in html and f"seats-{private.id}\"" not in html, url
        if url not in ("/courses",):
            assert f"/sessions/{public.id}" in html, url  # the list is not simply empty


def test_the_private_session_is_in_no_api_list(client, pair):
    public, private = pair
    for query in public_queries(public, private):
        body = client.get(f"/api/v1/sessions?{query}").get_json()
        ids = [item["id"] for item in body["items"]]
        assert public.id in ids and private.id not in ids, query
        assert body["total"] == 1 or "per_page=1" in query, query
    assert client.get("/api/v1/sessions?per_page=1&page=2").get_json()["items"] == []


def test_the_live_counts_of_a_course_or_of_everything_leave_it_out(app, pair):
    public, private = pair
    for rooms in (Rooms(), Rooms(course_slug="first-aid-at-work")):
        ids = {state.id for state in announce.room_states(rooms)}
        assert ids == {public.id}, rooms
    registry = SubscriberRegistry()
    course_room = registry.add(Subscription(Rooms(course_slug="first-aid-at-work"),
                                            on_drop=lambda _: None))
    everything = registry.add(Subscription(Rooms(), on_drop=lambda _: None))
    own_page = registry.add(Subscription(Rooms(session_ids=frozenset({private.id})),
                                         on_drop=lambda _: None))
    [private_state] = announce.seat_states([private.id])
    [public_state] = announce.seat_states([public.id])
    assert registry.recipients(private_state.target) == {own_page}
    assert registry.recipients(public_state.target) == {course_room, everything}


def test_its_plain_addresses_answer_404(client, pair):
    _, private = pair
    assert client.get(f"/sessions/{private.id}").status_code == 404
    assert client.get(f"/sessions/{private.id}/book").status_code == 404
    assert client.post(f"/sessions/{private.id}/book", data=form_data(1)).status_code == 404
    assert client.get(f"/api/v1/sessions/{private.id}").status_code == 404
    api = client.post("/api/v1/bookings", json={
        "session_id": private.id, "accept_terms": True,
        "contact": {"name": "Priya Shah", "email": "priya@example.com",
                    "phone": "07700 900123", "postcode": "LS1 4AP", "company": "Acme Ltd"},
        "attendees": [{"name": "Learner A", "email": ""}]})
    assert api.status_code == 404
    assert client.get("/sessions/private/not-the-right-token-at-all").status_code == 404
    assert client.get(f"/sessions/private/{private.private_token[:-1]}x/book").status_code == 404
    assert db.session.scalars(select(Booking)).all() == []


def test_it_has_no_public_waiting_list_even_when_full(app, client, pair):
    _, private = pair
    holds.hold_seats(booking_request(private.id, 10), policy=holds.BookingPolicy(),
                     private_token=private.private_token)
    joined = client.post(f"/api/v1/sessions/{private.id}/waitlist",
                         json={"name": "Priya Shah", "email": "priya@example.com", "seats": 1})
    assert joined.status_code == 404
    page = client.get(f"/sessions/private/{private.private_token}").get_data(as_text=True)
    assert "Fully booked" in page and "waiting list" not in page.lower()


def test_it_books_through_its_private_link(client, pair):
    _, private = pair
    page = client.get(f"/sessions/private/{private.private_token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and PRIVATE_VENUE in html
    assert page.headers["Cache-Control"] == "no-store"
    assert "noindex" in page.headers["X-Robots-Tag"]
    book_url = f"/sessions/private/{private.private_token}/book"
    assert f'href="{book_url}"' in html
    form = client.get(book_url).get_data(as_text=True)
    assert f'action="{book_url}"' in form
    resized = client.post(book_url, data=form_data(2, action="resize"))
    assert resized.status_code == 200 and "attendees-1-name" in resized.get_data(as_text=True)
    response = client.post(book_url, data=form_data(2))
    assert response.status_code == 303 and "/pay?token=" in response.headers["Location"]
    [booking] = db.session.scalars(select(Booking)).all()
    assert (booking.session_id, booking.seats) == (private.id, 2)


def test_the_hold_service_opens_a_private_session_only_with_its_token_or_for_staff(pair):
    _, private = pair
    policy = holds.BookingPolicy()
    for token in (None, "", "x" * 32, private.private_token.upper()):
        with pytest.raises(NotFound):
            holds.hold_seats(booking_request(private.id), policy=policy, private_token=token)
    held = holds.hold_seats(booking_request(private.id), policy=policy,
                            private_token=private.private_token)
    by_staff = holds.hold_seats(booking_request(private.id, email="office@example.com"),
                                policy=policy, staff=True)
    assert held.session_id == by_staff.session_id == private.id
