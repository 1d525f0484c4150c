"""Query discipline: the hot pages send the same number of SQL statements whatever
the number of rows they show (no query per row). Each test counts a request's
statements with few rows and again with several times as many (below the page
size, so every row is shown) and asserts the counts are equal."""
from __future__ import annotations

from app.models import BookingStatus

from factories import AttendeeFactory, BookingFactory, SessionFactory

FEW, MANY = 3, 15  # both under the calendar's 20 and the admin lists' 25 per page


def sessions(count: int) -> list:
    """`count` sessions, each with a course, venue and trainer of its own (so that a
    relationship loaded per row would show as one more statement per row)."""
    return [SessionFactory() for _ in range(count)]


def bookings_on(course_session, count: int) -> list:
    made = []
    for _ in range(count):
        booking = BookingFactory(session=course_session, seats=1)
        AttendeeFactory(booking=booking, position=0)
        made.append(booking)
    return made


def bookings_elsewhere(count: int) -> list:
    """`count` bookings, each on a session (course, venue) of its own, with an attendee."""
    made = []
    for _ in range(count):
        booking = BookingFactory(seats=1)
        AttendeeFactory(booking=booking, position=0)
        made.append(booking)
    return made


def statements_for(client, count_statements, method: str, url: str, **kwargs) -> tuple:
    """(statement count, the statements, status) of one request, after a first
    request to the same URL (first-request work such as warming a cache is not
    what these tests are about)."""
    getattr(client, method)(url, **kwargs)
    with count_statements() as sent:
        response = getattr(client, method)(url, **kwargs)
    return sent.count, sent, response.status_code


def test_calendar_sends_the_same_statements_for_few_and_many_sessions(client, count_statements):
    sessions(FEW)
    few, _, status = statements_for(client, count_statements, "get", "/sessions")
    assert status == 200
    sessions(MANY - FEW)
    many, sent, status = statements_for(client, count_statements, "get", "/sessions")
    assert status == 200
    assert many == few, f"{few} statements for {FEW} sessions, {many} for {MANY}:\n{sent.describe()}"


def test_api_session_list_sends_the_same_statements_for_few_and_many_sessions(
        client, count_statements):
    sessions(FEW)
    few, _, status = statements_for(client, count_statements, "get", "/api/v1/sessions")
    assert status == 200
    sessions(MANY - FEW)
    many, sent, status = statements_for(client, count_statements, "get", "/api/v1/sessions")
    assert status == 200
    assert many == few, f"{few} statements for {FEW} sessions, {many} for {MANY}:\n{sent.describe()}"


def test_session_page_sends_the_same_statements_for_few_and_many_bookings(
        client, count_statements):
    course_session = SessionFactory(capacity=100)
    bookings_on(course_session, FEW)
    url = f"/sessions/{course_session.id}"
    few, _, status = statements_for(client, count_statements, "get", url)
    assert status == 200
    bookings_on(course_session, MANY - FEW)
    many, sent, status = statements_for(client, count_statements, "get", url)
    assert status == 200
    assert many == few, f"{few} statements with {FEW} bookings, {many} with {MANY}:\n{sent.describe()}"


def booking_form(email: str) -> dict:
    return {
        "contact-name": "Priya Shah", "contact-email": email, "contact-phone": "07700 900123",
        "contact-postcode": "ls1 4ap", "contact-company": "", "seats": "2", "action": "book",
        "accept_terms": "y",
        **{f"attendees-{i}-{field}": (f"Learner {chr(65 + i)}" if field == "name" else "")
           for i in range(2) for field in ("name", "email", "access_needs")},
    }


def test_booking_form_post_sends_the_same_statements_for_few_and_many_bookings(
        app, count_statements):
    """Each count is of a first hold by a new client (a client's earlier holds are
    looked up for the hold limits, and would change the count by themselves)."""
    course_session = SessionFactory(capacity=100)
    url = f"/sessions/{course_session.id}/book"
    bookings_on(course_session, FEW)

    def hold(n: int) -> tuple:
        client = app.test_client()
        with count_statements() as sent:
            response = client.post(url, data=booking_form(f"new{n}@example.com"),
                                   environ_base={"REMOTE_ADDR": f"192.0.2.{n}"})
        assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
        return sent.count, sent

    few, _ = hold(1)
    bookings_on(course_session, MANY - FEW)
    many, sent = hold(2)
    assert many == few, f"{few} statements with {FEW} bookings, {many} with {MANY}:\n{sent.describe()}"


def test_admin_booking_list_sends_the_same_statements_for_few_and_many_bookings(
        admin_client, count_statements):
    bookings_elsewhere(FEW)
    few, _, status = statements_for(admin_client, count_statements, "get", "/admin/bookings")
    assert status == 200
    bookings_elsewhere(MANY - FEW)
    many, sent, status = statements_for(admin_client, count_statements, "get", "/admin/bookings")
    assert status == 200
    assert many == few, f"{few} statements for {FEW} bookings, {many} for {MANY}:\n{sent.describe()}"


def test_admin_session_list_sends_the_same_statements_for_few_and_many_sessions(
        admin_client, count_statements):
    sessions(FEW)
    few, _, status = statements_for(admin_client, count_statements, "get", "/admin/sessions")
    assert status == 200
    sessions(MANY - FEW)
    many, sent, status = statements_for(admin_client, count_statements, "get", "/admin/sessions")
    assert status == 200
    assert many == few, f"{few} statements for {FEW} sessions, {many} for {MANY}:\n{sent.describe()}"


def test_the_counter_sees_a_query_per_row_when_there_is_one(app, count_statements):
    """The control: the helper does count statements per row when code sends them,
    so equal counts above are evidence, not a counter that sees nothing."""
    from app.extensions import db
    from app.models import Booking

    made = bookings_elsewhere(4)
    db.session.expire_all()
    with count_statements() as sent:
        for booking in db.session.query(Booking).filter(Booking.id.in_([b.id for b in made])):
            assert booking.session.course.title  # lazy loads: one per row
    assert sent.count >= 1 + len(made)
    assert BookingStatus.CONFIRMED in {b.status for b in made}
