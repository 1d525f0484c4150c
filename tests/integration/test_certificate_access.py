"""Who may download which certificate (a manage link its own booking's attendees, a
trainer their own sessions', an administrator any), and an administrator's reissue
after a name correction: a new number, the old one shown as replaced on /verify."""
import io
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.models import Attendee, Role, SessionStatus, utcnow
from app.services.core.errors import InvalidState
from app.services.core.tokens import manage_token
from app.services.staff import certificates
from factories import AttendeeFactory, BookingFactory, SessionFactory
from notify_helpers import deliver_all

COMPLETED_ON = date(2026, 3, 10)


@pytest.fixture
def outbox(app):
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def certified_attendee(trainer, name: str, email: str) -> Attendee:
    starts = utcnow() - timedelta(days=3)
    course_session = SessionFactory(trainer=trainer, starts_at=starts,
                                    ends_at=starts + timedelta(hours=6),
                                    status=SessionStatus.COMPLETED)
    booking = BookingFactory(session=course_session, hold_expires_at=None, confirmed_at=starts,
                             contact_name="Priya Shah", contact_email=email)
    attendee = AttendeeFactory(booking=booking, full_name=name)
    return certificates.issue_certificate(attendee.id, COMPLETED_ON)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def customer_link(app, attendee: Attendee, number: str) -> str:
    reference = attendee.booking.reference
    token = manage_token(reference, secret_key=app.config["SECRET_KEY"])
    return f"/bookings/{reference}/certificates/{quote(number)}.pdf?token={token}"


def trainer_link(attendee: Attendee, number: str) -> str:
    return f"/trainer/sessions/{attendee.booking.session_id}/certificates/{number}.pdf"


@pytest.fixture
def two_sessions(app, trainer_user, staff_user):
    other_trainer = staff_user(Role.TRAINER, full_name="Omar Other")
    mine = certified_attendee(trainer_user, "Sam Patel", "priya@example.com")
    theirs = certified_attendee(other_trainer, "Jo Brown", "jo.boss@example.com")
    return mine, theirs


class TestDownloadAccess:
    def test_a_manage_link_downloads_its_own_attendees_certificate_only(self, app, client,
                                                                        two_sessions):
        mine, theirs = two_sessions
        own = client.get(customer_link(app, mine, mine.certificate_number))
        assert own.status_code == 200 and own.headers["Content-Type"] == "application/pdf"
        assert "Sam Patel" in pdf_text(own.data)
        other = client.get(customer_link(app, mine, theirs.certificate_number))
        unknown = client.get(customer_link(app, mine, "RFT-2603-ZZZZZZ"))
        assert other.status_code == unknown.status_code == 404
        assert other.data == unknown.data

    def test_the_manage_page_links_each_issued_certificate(self, app, client, two_sessions):
        mine, _ = two_sessions
        token = manage_token(mine.booking.reference, secret_key=app.config["SECRET_KEY"])
        page = client.get(f"/bookings/{mine.booking.reference}?token={token}").text
        assert f"/certificates/{mine.certificate_number}.pdf" in page

    def test_a_trainer_downloads_from_their_own_sessions_only(self, trainer_client,
                                                              two_sessions):
        mine, theirs = two_sessions
        roster = trainer_client.get(f"/trainer/sessions/{mine.booking.session_id}").text
        assert trainer_link(mine, mine.certificate_number) in roster
        assert trainer_client.get(trainer_link(mine, mine.certificate_number)).status_code == 200
        assert trainer_client.get(trainer_link(theirs, theirs.certificate_number)).status_code \
            == 404
        # Another trainer's number through one's own session is refused too.
        assert trainer_client.get(trainer_link(mine, theirs.certificate_number)).status_code \
            == 404

    def test_an_admin_downloads_any_from_the_booking_page(self, admin_client, two_sessions):
        for attendee in two_sessions:
            reference = attendee.booking.reference
            page = admin_client.get(f"/admin/bookings/{reference}").text
            link = f"/admin/bookings/{reference}/certificates/{attendee.certificate_number}.pdf"
            assert link in page
            response = admin_client.get(link)
            assert response.status_code == 200 and response.data.startswith(b"%PDF")

    def test_a_trainer_cannot_use_the_admin_download(self, trainer_client, two_sessions):
        mine, _ = two_sessions
        response = trainer_client.get(f"/admin/bookings/{mine.booking.reference}/certificates/"
                                      f"{mine.certificate_number}.pdf")
        assert response.status_code in (403, 404)


class TestReissue:
    def test_a_reissue_after_a_name_correction_supersedes_the_old_number_on_verify(
            self, app, client, admin_client, two_sessions, outbox):
        mine, _ = two_sessions
        old = mine.certificate_number
        deliver_all()
        outbox.clear()
        response = admin_client.post(
            f"/admin/bookings/{mine.booking.reference}/attendees/{mine.id}/certificate/reissue",
            data={"name": "Samuel Patel"})
        assert response.status_code == 303
        db.session.expire_all()
        attendee = db.session.get(Attendee, mine.id)
        new = attendee.certificate_number
        assert new != old and attendee.full_name == "Samuel Patel"
        assert (attendee.certificate_issued_on, attendee.certificate_expires_on) == \
            (mine.certificate_issued_on, mine.certificate_expires_on)

        replaced = client.get(f"/verify/{old}")
        assert replaced.status_code == 200
        assert "Replaced by a newer certificate" in replaced.text and new in replaced.text
        assert "Sam Patel" not in replaced.text
        current = client.get(f"/verify/{new}")
        assert "Genuine and valid" in current.text and "Samuel Patel" in current.text

        # The old number no longer downloads; the new one prints the corrected name.
        assert client.get(customer_link(app, attendee, old)).status_code == 404
        pdf = client.get(customer_link(app, attendee, new))
        assert "Samuel Patel" in pdf_text(pdf.data)

        deliver_all()
        (message,) = outbox
        assert message.to == ["priya@example.com"] and new in message.subject
        assert "Hello Priya Shah," in message.body and "Samuel Patel" in message.body

    def test_a_bad_name_is_refused_and_nothing_changes(self, admin_client, two_sessions):
        mine, _ = two_sessions
        admin_client.post(
            f"/admin/bookings/{mine.booking.reference}/attendees/{mine.id}/certificate/reissue",
            data={"name": "   "})
        db.session.expire_all()
        assert db.session.get(Attendee, mine.id).certificate_number == mine.certificate_number

    def test_an_attendee_without_a_certificate_cannot_be_reissued(self, app):
        attendee = AttendeeFactory()
        with pytest.raises(InvalidState):
            certificates.reissue_certificate(attendee.id, actor_id=None)

    def test_an_admin_resends_the_current_certificate(self, admin_client, two_sessions, outbox):
        mine, _ = two_sessions
        deliver_all()
        outbox.clear()
        response = admin_client.post(
            f"/admin/bookings/{mine.booking.reference}/attendees/{mine.id}/certificate/resend")
        assert response.status_code == 303
        deliver_all()
        (message,) = outbox
        assert mine.certificate_number in message.subject
        assert "here again is" in message.body
        assert f"certificate-{mine.certificate_number}.pdf" in [a[0] for a in message.attachments]
