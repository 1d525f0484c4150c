"""The demo catalogue: what a Yorkshire first-aid provider's booking site holds.

`seed_demo()` loads courses, venues and staff, and a past, a present and a
future, in one transaction, into a database without courses:

- about six months of history: completed sessions with their attendance
  (a few no-shows) and certificates, one session the office cancelled,
  customers' cancellations with their refunds, card and invoice payments,
  waiting-list entries, and a few 12-month certificates from last year that
  are now due to expire;
- a session today for every trainer, its register ready to take;
- about three months of upcoming sessions with bookings, one sold out with a
  waiting list, a few abandoned checkouts.

Everything random comes from one seeded `random.Random`, so for the same `now`
the demo looks the same every time.

The history is written as rows (models through the repositories), not through
the services that would announce it: it sends no emails and writes no outbox
events. Reminders a real past would already have sent (the course reminder
of a booking starting within `reminder_days_before`, the expiry reminder of a
certificate inside one of the `certificate_reminder_days` windows) are recorded as
``skipped`` sent-email rows, so the worker never sends them on its first run.

Decisions:
- Qualifications (EFAW, FAW, their requalifications, both paediatric courses)
  give a certificate valid 36 months, as HSE guidance (L74) and the EYFS
  framework expect. CPR & AED and the Annual Skills Refresher give a
  certificate of attendance valid 12 months: the refresher is the annual one
  HSE recommends, and resuscitation skills fade within a year.
- At most 12 learners per trainer (HSE's guidance ratio); sessions have 12,
  10 or 8 seats.
- Multi-day courses run on consecutive weekdays within one week (never across
  a weekend) from 09:00 to 16:30 London time; one-day courses start at 09:00 or
  09:30, some on Saturdays; half-day courses run for three and a half hours.
  So every session gives its course's contact hours, as the timetable requires
  (app.services.catalogue.timetable.contact_hours_problem).
- A trainer and a venue have at most one session a day.
- Today's sessions are one-day courses, one per trainer, run whatever day
  today is: the trainer register opens on a session's first day, and the demo
  is for trying it.
- Every booking that took seats was paid by card through the fake checkout
  (provider "fake"), or, for some company bookings, invoiced: an invoice
  numbered from the app's own counter (as `issue_invoice` numbers them, without
  its InvoiceIssued event), issued on the day the booking was confirmed and
  billed to its contact. Invoices of past courses were paid by bank transfer a
  few days to weeks after issue (a succeeded "bank_transfer" payment, as
  `mark_invoice_paid` records it), except those whose transfer has not come
  yet and the latest two past their due date, left overdue for the
  credit-control list; invoices of today's and upcoming courses are owed.
  Only card-paid bookings are cancelled, and each cancellation's refund is
  what the booking policy owed at that notice, refunded to the card.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from app.models import (
    Attendee, Booking, BookingStatus, Course, CourseSession, Invoice, Payment, PaymentStatus,
    Refund, RefundStatus, Role, SentEmail, SessionStatus, User, Venue, WaitlistEntry,
    WaitlistStatus,
)
from app.repositories import (
    BookingRepository, CourseRepository, SessionRepository, UserRepository, VenueRepository,
    unit_of_work,
)
from app.repositories.admin import WaitlistRepository
from app.repositories.notifications import SentEmailRepository
from app.repositories.payments import PaymentRepository, RefundRepository
from app.services.bookings.holds import REFERENCE_ALPHABET, REFERENCE_LENGTH, BookingPolicy
from app.services.catalogue.listing import CourseFacts
from app.services.core.errors import InvalidState
from app.services.background.scheduler import reminder_windows
from app.services.messaging.emails import SKIPPED
from app.services.messaging.notifications import (
    certificate_expiry_key, course_reminder_key, invoice_reminder_key,
)
from app.services.payments import invoices as invoicing
from app.services.payments.checkout import CURRENCY
from app.services.payments.invoices import InvoiceSettings
from app.services.payments.offline import contact_billing
from app.services.payments.refunds import REASON_CANCELLATION
from app.services.staff.accounts import create_staff_user
from app.services.staff.certificates import NUMBER_ALPHABET, add_months
from app.validation import sanitize_html

LONDON = ZoneInfo("Europe/London")
RANDOM_SEED = 20130401  # any constant: the demo must look the same each time
FIRST_DAY_OFFSET = 2  # first sessions the day after tomorrow
LAST_DAY_OFFSET = 89  # ... and the last within three months
HISTORY_DAYS = 182  # completed sessions over the last six months
# Last year's 12-month certificates, so some are due to expire in the next
# weeks (the office's list looks 90 days ahead).
LAST_YEAR_FROM_DAYS, LAST_YEAR_TO_DAYS = 335, 280
LAST_YEAR_COURSES = ("cpr-and-aed", "annual-skills-refresher")
TODAY_COURSES = ("emergency-first-aid-at-work", "emergency-paediatric-first-aid",
                 "cpr-and-aed", "emergency-first-aid-at-work-requalification")
NO_SHOW_RATE = 0.03
CANCELLATION_RATE = 0.08  # of bookings, cancelled by the customer (card-paid ones)
INVOICE_SHARE = 0.4  # of company bookings, paid by invoice rather than card
INVOICE_PAID_AFTER_DAYS = (4, 40)  # when a past invoice's bank transfer arrived
OVERDUE_LEFT_UNPAID = 2  # the latest past-due invoices of past courses, still owed


@dataclass(frozen=True)
class CourseSpec(CourseFacts):
    sessions_in_quarter: int  # how many to schedule over the three months
    runs_on_saturdays: bool = False

    @property
    def is_half_day(self) -> bool:
        return self.duration_hours <= 3


@dataclass(frozen=True)
class VenueSpec:
    name: str
    address_line1: str
    address_line2: str
    town: str
    postcode: str
    accessibility_notes: str


@dataclass(frozen=True)
class StaffSpec:
    full_name: str
    email: str


@dataclass(frozen=True)
class SeedResult:
    courses: int
    venues: int
    sessions: int  # all of them: past, today's and upcoming
    trainers: int
    bookings: int
    seats_booked: int
    admin_email: str
    admin_created: bool  # False when an account with that email already existed
    trainer_emails: tuple[str, ...]  # the trainer accounts this seed created
    past_sessions: int = 0
    sessions_today: int = 0
    upcoming_sessions: int = 0
    certificates: int = 0


def _description(*paragraphs: str, covers: tuple[str, ...]) -> str:
    items = "".join(f"<li>{item}</li>" for item in covers)
    intro, *rest = paragraphs
    return f"<p>{intro}</p><ul>{items}</ul>" + "".join(f"<p>{p}</p>" for p in rest)


_EFAW_TOPICS = (
    "The role and responsibilities of a workplace first aider",
    "Assessing an incident and an unresponsive casualty",
    "CPR and using an AED (defibrillator)",
    "The recovery position and seizures",
    "Choking, shock, bleeding and minor injuries",
)

COURSES: tuple[CourseSpec, ...] = (
    CourseSpec(
        slug="emergency-first-aid-at-work",
        title="Emergency First Aid at Work",
        category="Workplace first aid",
        summary="One-day course for emergency first aiders in lower-risk workplaces.",
        description_html=_description(
            "The one-day Emergency First Aid at Work (EFAW) course follows the HSE's "
            "guidance (L74) and meets the Health and Safety (First-Aid) Regulations 1981 "
            "requirements for an emergency first aider. It covers:",
            "For staff appointed as first aiders in offices, shops and other lower-risk "
            "workplaces, as your first-aid needs assessment identifies.",
            "Assessment: continuous practical assessment by the trainer and a short "
            "question paper. The certificate is valid for 3 years.",
            covers=_EFAW_TOPICS,
        ),
        duration_days=1, duration_hours=6, price_pence=10_000,
        certificate_validity_months=36, sessions_in_quarter=14, runs_on_saturdays=True,
    ),
    CourseSpec(
        slug="first-aid-at-work",
        title="First Aid at Work",
        category="Workplace first aid",
        summary="Three-day course for first aiders in higher-risk or larger workplaces.",
        description_html=_description(
            "The three-day First Aid at Work (FAW) course follows the HSE's guidance (L74) "
            "and meets the Health and Safety (First-Aid) Regulations 1981 requirements for "
            "a workplace first aider. Everything in EFAW, and:",
            "For first aiders in construction, manufacturing, warehousing and other "
            "higher-risk workplaces, or where many people work.",
            "Assessment: practical assessment throughout and a written question paper. "
            "The certificate is valid for 3 years.",
            covers=(
                "Injuries to bones, muscles and joints, including suspected spinal injuries",
                "Head, chest and eye injuries, burns and scalds",
                "Poisoning and anaphylaxis",
                "Heart attack, stroke, epilepsy, asthma and diabetes",
                "Record keeping and first-aid kits",
            ),
        ),
        duration_days=3, duration_hours=18, price_pence=20_000,
        certificate_validity_months=36, sessions_in_quarter=10,
    ),
    CourseSpec(
        slug="first-aid-at-work-requalification",
        title="First Aid at Work Requalification",
        category="Requalification",
        summary="Two-day course to renew a First Aid at Work certificate before it expires.",
        description_html=_description(
            "The two-day FAW requalification course follows the HSE's guidance (L74) for "
            "renewing a First Aid at Work certificate. It revisits:",
            "For first aiders whose FAW certificate is still valid: book before it expires. "
            "Once it has expired the full three-day course is needed.",
            "Assessment: practical assessment throughout and a written question paper. "
            "The new certificate is valid for 3 years.",
            covers=(
                "CPR and AED, the unresponsive casualty and choking",
                "Bleeding, shock, burns and fractures",
                "Head and spinal injuries",
                "Major illnesses: heart attack, stroke, asthma, epilepsy, diabetes",
            ),
        ),
        duration_days=2, duration_hours=12, price_pence=15_000,
        certificate_validity_months=36, sessions_in_quarter=8,
    ),
    CourseSpec(
        slug="emergency-first-aid-at-work-requalification",
        title="Emergency First Aid at Work Requalification",
        category="Requalification",
        summary="One-day course to renew an Emergency First Aid at Work certificate.",
        description_html=_description(
            "Renew your EFAW certificate with the one-day syllabus that follows the HSE's "
            "guidance (L74), taught at a pace that suits people who have done it before:",
            "For emergency first aiders whose EFAW certificate is due to expire.",
            "Assessment: continuous practical assessment and a short question paper. "
            "The new certificate is valid for 3 years.",
            covers=_EFAW_TOPICS,
        ),
        duration_days=1, duration_hours=6, price_pence=7_000,
        certificate_validity_months=36, sessions_in_quarter=8, runs_on_saturdays=True,
    ),
    CourseSpec(
        slug="paediatric-first-aid",
        title="Paediatric First Aid",
        category="Paediatric first aid",
        summary="Two-day, 12-hour course for people who look after babies and children.",
        description_html=_description(
            "The full 12-hour Paediatric First Aid course meets the EYFS requirements "
            "(Ofsted) for a paediatric first aider in early years settings. It covers:",
            "For nursery staff, childminders, nannies, teaching assistants and parents.",
            "Assessment: practical assessment on infant and child manikins and a short "
            "question paper. The certificate is valid for 3 years.",
            covers=(
                "CPR for infants and children, and using an AED",
                "Choking, bleeding, shock and burns",
                "Fractures, head and spinal injuries",
                "Meningitis, febrile seizures, asthma, diabetes and allergic reactions",
                "Poisoning, bites and stings, hypothermia and heat exhaustion",
            ),
        ),
        duration_days=2, duration_hours=12, price_pence=12_000,
        certificate_validity_months=36, sessions_in_quarter=10,
    ),
    CourseSpec(
        slug="emergency-paediatric-first-aid",
        title="Emergency Paediatric First Aid",
        category="Paediatric first aid",
        summary="One-day, 6-hour paediatric course for early years staff.",
        description_html=_description(
            "The 6-hour Emergency Paediatric First Aid course meets the EYFS requirements "
            "(Ofsted) for an emergency paediatric first aid certificate. It covers:",
            "For early years staff and childminders' assistants. A setting must still have "
            "someone with the full 12-hour Paediatric First Aid certificate on site.",
            "Assessment: practical assessment throughout. The certificate is valid for "
            "3 years.",
            covers=(
                "CPR for infants and children",
                "The unresponsive child and the recovery position",
                "Choking, bleeding, shock and seizures",
            ),
        ),
        duration_days=1, duration_hours=6, price_pence=10_000,
        certificate_validity_months=36, sessions_in_quarter=8, runs_on_saturdays=True,
    ),
    CourseSpec(
        slug="cpr-and-aed",
        title="CPR & AED",
        category="Short courses",
        summary="Half-day course: adult CPR and using a defibrillator with confidence.",
        description_html=_description(
            "A practical half day following the Resuscitation Council UK guidelines:",
            "For workplaces and community groups with a public-access defibrillator, and "
            "anyone who wants the confidence to act in a cardiac arrest.",
            "Assessment: practical assessment. You receive a certificate of attendance; "
            "we recommend a refresher every 12 months.",
            covers=(
                "Recognising a cardiac arrest and calling 999",
                "Chest compressions and rescue breaths",
                "Using an AED safely",
                "The recovery position and choking",
            ),
        ),
        duration_days=1, duration_hours=3, price_pence=6_000,
        certificate_validity_months=12, sessions_in_quarter=8, runs_on_saturdays=True,
    ),
    CourseSpec(
        slug="annual-skills-refresher",
        title="Annual Skills Refresher",
        category="Short courses",
        summary="Half-day refresher for EFAW and FAW first aiders between requalifications.",
        description_html=_description(
            "The HSE's guidance (L74) strongly recommends that first aiders take an annual "
            "refresher during each three years of their certificate. This half day covers:",
            "For holders of a current EFAW or FAW certificate. It does not replace "
            "requalification when your certificate expires.",
            "Assessment: practical. You receive a certificate of attendance valid for "
            "12 months.",
            covers=(
                "CPR and AED practice",
                "The unresponsive casualty and choking",
                "Bleeding and shock",
                "Any changes to guidance since you qualified",
            ),
        ),
        duration_days=1, duration_hours=3, price_pence=6_000,
        certificate_validity_months=12, sessions_in_quarter=8,
    ),
)

VENUES: tuple[VenueSpec, ...] = (
    VenueSpec("Park Square Business Centre", "14 Park Square East", "", "Leeds", "LS1 2NE",
              "Step-free access by a ramp at the side entrance; lift to the first-floor "
              "training room; hearing loop. Pay-and-display parking on Park Square."),
    VenueSpec("Headingley Community Hall", "25 North Lane", "Headingley", "Leeds", "LS6 3HW",
              "Ground-floor hall with level access and an accessible toilet. "
              "Free car park behind the hall (20 spaces)."),
    VenueSpec("Leopold Street Business Centre", "22 Leopold Street", "", "Sheffield", "S1 2GY",
              "Step-free access and lift; hearing loop in the training room. "
              "Nearest parking: Rockingham Street car park; tram stop at City Hall."),
    VenueSpec("Micklegate Training Rooms", "88 Micklegate", "", "York", "YO1 6LF",
              "Ground-floor room with step-free access from the rear courtyard. "
              "No on-site parking: use Nunnery Lane car park (5 minutes' walk)."),
    VenueSpec("Little Germany Business Centre", "12 Peckover Street", "", "Bradford", "BD1 5BD",
              "Lift to all floors; accessible toilet; hearing loop on request. "
              "Two blue-badge bays outside; Forster Square station is 8 minutes' walk."),
    VenueSpec("Station Parade Conference Rooms", "3 Station Parade", "", "Harrogate", "HG1 1UF",
              "Step-free entrance and lift; hearing loop. Opposite Harrogate station; "
              "parking at the Victoria multi-storey."),
    VenueSpec("Westgate Chambers", "45 Westgate", "", "Wakefield", "WF1 1JY",
              "Training room on the ground floor with level access; accessible toilet. "
              "Free parking for course delegates in the rear yard."),
    VenueSpec("Queensgate Business Centre", "9 Queen Street", "", "Huddersfield", "HD1 2SP",
              "Step-free access and lift; hearing loop. "
              "Parking at the Alfred Street car park across the road."),
)

TRAINERS: tuple[StaffSpec, ...] = (
    StaffSpec("Dave Sutcliffe", "dave.sutcliffe@reactfasttraining.co.uk"),
    StaffSpec("Rachel Hirst", "rachel.hirst@reactfasttraining.co.uk"),
    StaffSpec("Imran Hussain", "imran.hussain@reactfasttraining.co.uk"),
    StaffSpec("Claire Ackroyd", "claire.ackroyd@reactfasttraining.co.uk"),
)

_FIRST_NAMES = (
    "Aisha", "Ben", "Chloe", "Daniel", "Emily", "Faisal", "Grace", "Harry", "Isla", "Jack",
    "Kiran", "Laura", "Mohammed", "Niamh", "Oliver", "Priya", "Ryan", "Sophie", "Tom", "Zara",
    "Gareth", "Hannah", "Josh", "Megan", "Sean", "Yasmin",
)
_LAST_NAMES = (
    "Ahmed", "Barker", "Clarke", "Dawson", "Ellis", "Fletcher", "Greenwood", "Holroyd",
    "Iqbal", "Jagger", "Kaur", "Lister", "Metcalfe", "Nowak", "O'Neill", "Patel", "Robinson",
    "Shaw", "Thornton", "Walsh", "Whiteley", "Wood",
)
_COMPANIES = (
    "Aire Valley Joinery Ltd", "Calder Logistics Ltd", "Little Acorns Nursery",
    "Ridings Dental Practice", "Dales Building Supplies", "Wharfedale Veterinary Group",
    "Holme Moss Engineering Ltd", "Kirkgate Pharmacy", None, None, None,
)
_CUSTOMER_POSTCODES = (
    "LS6 2AB", "LS11 5QR", "S10 2TN", "S7 1FB", "YO31 8HE", "BD9 4RS", "HG2 8NL",
    "WF2 9QA", "HD3 3PB", "LS25 1AE", "BD18 3EW", "S6 3JS",
)


def is_empty() -> bool:
    """True when the database has no courses at all, not even soft-deleted ones."""
    courses = CourseRepository()
    return courses.session.scalar(courses.select(include_deleted=True).limit(1)) is None


def seed_demo(now: datetime, *, admin_email: str, admin_password: str, trainer_password: str,
              admin_name: str = "Joanne Whitaker", reminder_days_before: int = 2,
              certificate_reminder_days: Sequence[int] | int = (90, 30),
              policy: BookingPolicy | None = None,
              invoice_settings: InvoiceSettings | None = None) -> SeedResult:
    """Load the demo in one transaction. `now` is an aware datetime.

    `reminder_days_before`, `certificate_reminder_days`, `policy` and
    `invoice_settings` are the app's settings (REMINDER_DAYS_BEFORE,
    CERTIFICATE_REMINDER_DAYS, the refund rules, the invoice settings; the
    installed ones by default), so the history agrees with what the app would
    have done.
    Raises InvalidState if there are courses already. Staff accounts whose
    email already exists are left as they are; new ones' passwords must meet
    the account rules (InvalidInput otherwise).
    """
    if now.tzinfo is None:
        raise ValueError("seed_demo needs an aware datetime for `now`")
    now = now.astimezone(timezone.utc)
    today = now.astimezone(LONDON).date()
    policy = policy or BookingPolicy()
    invoice_settings = invoice_settings or invoicing.current()
    rng = random.Random(RANDOM_SEED)
    users = UserRepository()

    with unit_of_work():
        if not is_empty():
            raise InvalidState("The database already has courses; demo data is only loaded "
                               "into an empty database.")
        courses = [CourseRepository().add(_course(spec)) for spec in COURSES]
        _link_requalifications(courses)
        venues = [VenueRepository().add(Venue(**asdict(spec))) for spec in VENUES]

        admin_created = users.get_by_email(admin_email) is None
        if admin_created:
            create_staff_user(admin_email, Role.ADMIN, admin_password, admin_name)
        created_trainers = []
        for spec in TRAINERS:
            if users.get_by_email(spec.email) is None:
                create_staff_user(spec.email, Role.TRAINER, trainer_password, spec.full_name)
                created_trainers.append(spec.email)
        trainers = users.trainers()

        busy: set[tuple[str, int, date]] = set()  # ("trainer" | "venue", id, day)
        upcoming = _schedule(rng, today + timedelta(FIRST_DAY_OFFSET),
                             today + timedelta(LAST_DAY_OFFSET), courses, venues, trainers, busy,
                             per_course=lambda spec: spec.sessions_in_quarter)
        running_today = _sessions_today(rng, today, courses, venues, trainers, busy)
        past = _schedule(rng, today - timedelta(HISTORY_DAYS), today - timedelta(1), courses,
                         venues, trainers, busy, finish_by=today - timedelta(1),
                         per_course=lambda spec: spec.sessions_in_quarter)
        last_year = _schedule(rng, today - timedelta(LAST_YEAR_FROM_DAYS),
                              today - timedelta(LAST_YEAR_TO_DAYS), courses, venues, trainers,
                              busy, finish_by=today - timedelta(1),
                              per_course=lambda spec: 2 if spec.slug in LAST_YEAR_COURSES else 0)
        history = sorted(last_year + past, key=lambda s: (s.starts_at, s.course_id))
        session_repo = SessionRepository()
        for course_session in history + running_today + upcoming:
            session_repo.add(course_session)

        story = _Story(rng, now, policy)
        story.history(history)
        story.today(running_today)
        story.upcoming(upcoming)
        booking_repo, payment_repo = BookingRepository(), PaymentRepository()
        for booking in story.bookings:
            booking_repo.add(booking)
        for payment in story.payments:
            payment_repo.add(payment)
        refund_repo = RefundRepository()
        for refund in story.refunds:
            refund_repo.add(refund)
        waitlist_repo = WaitlistRepository()
        for entry in story.waitlist:
            waitlist_repo.add(entry)
        booking_repo.flush()
        invoices = _invoices(story.invoice_plan(invoice_settings.due_days), invoice_settings)
        emails = SentEmailRepository()
        for row in _reminders_already_behind_us(now, story.bookings, reminder_days_before,
                                                certificate_reminder_days):
            emails.add(row)
        for row in _invoice_reminders_already_behind_us(now, invoices,
                                                        invoice_settings.reminder_days):
            emails.add(row)

    bookings = [b for b in story.bookings if b.status == BookingStatus.CONFIRMED]
    return SeedResult(
        courses=len(courses), venues=len(venues),
        sessions=len(history) + len(running_today) + len(upcoming),
        trainers=len(trainers), bookings=len(bookings),
        seats_booked=sum(b.seats for b in bookings),
        admin_email=admin_email, admin_created=admin_created,
        trainer_emails=tuple(created_trainers),
        past_sessions=len(history), sessions_today=len(running_today),
        upcoming_sessions=len(upcoming),
        certificates=sum(1 for b in story.bookings for a in b.attendees
                         if a.certificate_number),
    )


# Each requalification course and the full course whose certificate it renews.
REQUALIFICATIONS = {
    "first-aid-at-work-requalification": "first-aid-at-work",
    "emergency-first-aid-at-work-requalification": "emergency-first-aid-at-work",
}


def _link_requalifications(courses: list[Course]) -> None:
    by_slug = {course.slug: course for course in courses}
    for requal, full in REQUALIFICATIONS.items():
        if requal in by_slug and full in by_slug:
            by_slug[requal].requalifies = by_slug[full]


def _course(spec: CourseSpec) -> Course:
    return Course(
        slug=spec.slug, title=spec.title, category=spec.category, summary=spec.summary,
        description_html=sanitize_html(spec.description_html), duration_days=spec.duration_days,
        duration_hours=spec.duration_hours, price_pence=spec.price_pence,
        certificate_validity_months=spec.certificate_validity_months,
        default_capacity=12, is_active=True,
    )


# -- the timetable ---------------------------------------------------------------
def _schedule(rng: random.Random, first: date, last: date, courses: list[Course],
              venues: list[Venue], trainers: list[User], busy: set, *,
              per_course: Callable[[CourseSpec], int],
              finish_by: date | None = None) -> list[CourseSession]:
    """Spread each course's sessions evenly from `first` to `last`, one per time
    slice (or, if none of its days will do, any day of the span), on a day when
    some trainer and some venue are free for every day of the course (`busy`
    is shared between calls). With `finish_by`, every session ends by then."""
    span = (last - first).days + 1
    quarter = [first + timedelta(d) for d in range(span)]
    closed = set().union(*(_days_closed(year) for year in range(first.year, last.year + 2)))
    sessions = []

    for spec, course in zip(COURSES, courses):
        count = per_course(spec)
        for i in range(count):
            in_slice = quarter[i * span // count:(i + 1) * span // count]
            elsewhere = [d for d in quarter if d not in in_slice]
            rng.shuffle(in_slice)
            rng.shuffle(elsewhere)
            for day in in_slice + elsewhere:
                days = [day + timedelta(k) for k in range(spec.duration_days)]
                if not _can_run_on(spec, days, closed) or (finish_by and days[-1] > finish_by):
                    continue
                trainer = _first_free(rng, "trainer", trainers, days, busy)
                venue = _first_free(rng, "venue", venues, days, busy)
                if trainer is None or venue is None:
                    continue
                for d in days:
                    busy |= {("trainer", trainer.id, d), ("venue", venue.id, d)}
                sessions.append(_session(rng, spec, course, venue, trainer, days))
                break
    sessions.sort(key=lambda s: (s.starts_at, s.course_id))
    return sessions


def _can_run_on(spec: CourseSpec, days: list[date], closed: set[date]) -> bool:
    """Weekdays of one week (one-day courses may run on a Saturday), never a closed day."""
    if any(d in closed for d in days):
        return False
    if days[0].weekday() == 5:
        return spec.runs_on_saturdays and len(days) == 1
    return all(d.weekday() < 5 for d in days)


def _first_free(rng: random.Random, kind: str, candidates: list, days: list[date],
                busy: set) -> Venue | User | None:
    shuffled = list(candidates)
    rng.shuffle(shuffled)
    for obj in shuffled:
        if all((kind, obj.id, d) not in busy for d in days):
            return obj
    return None


def _session(rng: random.Random, spec: CourseSpec, course: Course, venue: Venue, trainer: User,
             days: list[date]) -> CourseSession:
    starts_at, ends_at = _times(rng, spec, days[0], days[-1])
    # Ids, not relationships: `course=` would put the pending session into
    # Course.sessions, and SQLAlchemy warns at every flush until it is added.
    return CourseSession(
        course_id=course.id, venue_id=venue.id, trainer_id=trainer.id,
        starts_at=starts_at, ends_at=ends_at,
        capacity=rng.choices((12, 10, 8), weights=(6, 2, 1))[0],
        status=SessionStatus.SCHEDULED,
    )


def _days_closed(year: int) -> set[date]:
    """England's bank holidays, and the office's Christmas closure (24 Dec to 1 Jan)."""
    def monday_on_or_after(day: date) -> date:
        return day + timedelta((7 - day.weekday()) % 7)

    def next_weekday(day: date) -> date:
        return day if day.weekday() < 5 else monday_on_or_after(day)

    easter = _easter_sunday(year)
    last_monday_may = monday_on_or_after(date(year, 5, 25))
    last_monday_aug = monday_on_or_after(date(year, 8, 25))
    closure = {date(year, 12, 24) + timedelta(d) for d in range(8)} | {date(year, 1, 1)}
    return closure | {
        next_weekday(date(year, 1, 1)),
        # When Christmas falls at a weekend the substitute days are 27 and 28 Dec,
        # inside the closure already.
        easter - timedelta(2), easter + timedelta(1),
        monday_on_or_after(date(year, 5, 1)), last_monday_may, last_monday_aug,
    }


def _easter_sunday(year: int) -> date:
    """Western Easter (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _times(rng: random.Random, spec: CourseSpec, first_day: date, last_day: date):
    """UTC start and end from London wall-clock times (BST or GMT as the date says)."""
    start = time(9, 0) if spec.duration_days > 1 else rng.choice((time(9, 0), time(9, 30)))
    local_start = datetime.combine(first_day, start, tzinfo=LONDON)
    if spec.is_half_day:
        local_end = local_start + timedelta(hours=3, minutes=30)
    else:
        local_end = datetime.combine(last_day, time(16, 30), tzinfo=LONDON)
    return local_start.astimezone(timezone.utc), local_end.astimezone(timezone.utc)


def _sessions_today(rng: random.Random, today: date, courses: list[Course], venues: list[Venue],
                    trainers: list[User], busy: set) -> list[CourseSession]:
    """One one-day session today for each trainer, each at its own venue."""
    specs = {spec.slug: (spec, course) for spec, course in zip(COURSES, courses)}
    sessions = []
    for i, trainer in enumerate(trainers):
        spec, course = specs[TODAY_COURSES[i % len(TODAY_COURSES)]]
        venue = _first_free(rng, "venue", venues, [today], busy)
        if venue is None:  # more trainers than venues: the rest teach another day
            break
        busy |= {("trainer", trainer.id, today), ("venue", venue.id, today)}
        course_session = _session(rng, spec, course, venue, trainer, [today])
        course_session.capacity = 12
        sessions.append(course_session)
    return sessions


# -- bookings, payments, attendance ----------------------------------------------
@dataclass
class _Story:
    """What happened to the demo's sessions, as rows to add: bookings (with their
    attendees), card payments, refunds and waiting-list entries, and the bookings
    to invoice."""

    rng: random.Random
    now: datetime
    policy: BookingPolicy
    bookings: list[Booking] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    waitlist: list[WaitlistEntry] = field(default_factory=list)
    invoiced: list[Booking] = field(default_factory=list)
    references: set[str] = field(default_factory=set)
    certificate_numbers: set[str] = field(default_factory=set)

    # -- the three times --------------------------------------------------------
    def history(self, sessions: list[CourseSession]) -> None:
        """Completed sessions, filled as real ones were, and one the office cancelled
        (a trainer off sick): its customers were refunded in full."""
        cancelled = sessions[len(sessions) * 2 // 3] if len(sessions) > 2 else None
        for course_session in sessions:
            full = self.rng.random() < 0.3
            target = course_session.capacity if full else self.rng.randint(
                course_session.capacity // 2, course_session.capacity - 1)
            booked = self._fill(course_session, target, lead_days=(3, 45),
                                card=course_session is cancelled)
            if course_session is cancelled:
                course_session.status = SessionStatus.CANCELLED
                for booking in booked:
                    self._cancel(booking, course_session.starts_at - timedelta(days=4),
                                 refund_pence=booking.amount_pence)
                continue
            course_session.status = SessionStatus.COMPLETED
            self._attendance(course_session, booked)
            if full:
                for status in self.rng.sample((WaitlistStatus.BOOKED, WaitlistStatus.CANCELLED,
                                               WaitlistStatus.CANCELLED), k=2):
                    self._wait(course_session, status,
                               course_session.starts_at - timedelta(days=self.rng.randint(5, 20)))

    def today(self, sessions: list[CourseSession]) -> None:
        """Today's sessions: booked and paid, nobody marked yet."""
        for course_session in sessions:
            self._fill(course_session, self.rng.randint(6, course_session.capacity - 2),
                       lead_days=(1, 30), not_after=self.now)

    def upcoming(self, sessions: list[CourseSession]) -> None:
        """More bookings on the sooner sessions: the first one-day session is sold
        out (with a waiting list), the first multi-day one has a single seat left,
        the rest vary; a few checkouts were abandoned."""
        if not sessions:
            return
        full = next((s for s in sessions if s.course.duration_days == 1), sessions[0])
        nearly_full = next((s for s in sessions
                            if s.course.duration_days > 1 and s is not full), None)
        for course_session in sessions:
            if course_session is full:
                target = course_session.capacity
            elif course_session is nearly_full:
                target = course_session.capacity - 1
            elif self.rng.random() < _booked_share(course_session.starts_at - self.now):
                target = self.rng.randint(1, course_session.capacity * 2 // 3)
            else:
                continue
            self._fill(course_session, target, lead_days=(1, 28), not_after=self.now)
            if target and self.rng.random() < 0.15:
                self._abandoned(course_session)
        for _ in range(3):
            self._wait(full, WaitlistStatus.WAITING,
                       self.now - timedelta(days=self.rng.randint(1, 6),
                                            minutes=self.rng.randint(0, 600)))

    # -- the pieces ---------------------------------------------------------------
    def _fill(self, course_session: CourseSession, target: int, *, lead_days: tuple[int, int],
              not_after: datetime | None = None, card: bool = False) -> list[Booking]:
        """Confirmed, paid bookings for `target` seats (never more: the seats are the
        session's capacity at most), and now and then a booking its customer
        cancelled before the course."""
        target = min(target, course_session.capacity)
        booked = []
        while target > 0:
            seats = min(target, self.rng.choice((1, 1, 1, 2, 2, 3, 4)))
            booked.append(self._confirmed(course_session, seats, lead_days, not_after,
                                          card=card))
            target -= seats
        if self.rng.random() < CANCELLATION_RATE * 4:
            extra = self._confirmed(course_session, self.rng.choice((1, 1, 2)), lead_days,
                                    not_after, card=True)
            latest = min(course_session.starts_at, not_after or course_session.starts_at)
            span = max(60, int((latest - extra.confirmed_at).total_seconds() // 60) - 60)
            self._cancel(extra, extra.confirmed_at + timedelta(minutes=self.rng.randint(30, span)))
        return booked

    def _confirmed(self, course_session: CourseSession, seats: int, lead_days: tuple[int, int],
                   not_after: datetime | None, *, card: bool = False) -> Booking:
        latest = min(course_session.starts_at, not_after or course_session.starts_at)
        created_at = latest - timedelta(days=self.rng.randint(*lead_days),
                                        minutes=self.rng.randint(0, 600))
        confirmed_at = created_at + timedelta(minutes=self.rng.randint(2, 12))
        booking = self._booking(course_session, seats, created_at)
        booking.status, booking.confirmed_at = BookingStatus.CONFIRMED, confirmed_at
        booking.updated_at = confirmed_at
        self.bookings.append(booking)
        if not card and booking.company and self.rng.random() < INVOICE_SHARE:
            self.invoiced.append(booking)  # its invoice is written by _invoices
            return booking
        self.payments.append(Payment(
            booking=booking, provider="fake", amount_pence=booking.amount_pence,
            currency=CURRENCY, status=PaymentStatus.SUCCEEDED, paid_at=confirmed_at,
            provider_checkout_id=f"cs_demo_{booking.reference}",
            provider_payment_id=f"pi_demo_{booking.reference}",
            created_at=created_at, updated_at=confirmed_at))
        return booking

    def invoice_plan(self, due_days: int) -> list[tuple[Booking, datetime | None]]:
        """The invoiced bookings in the order their invoices were issued, each with
        when its bank transfer arrived, or None while it is owed: always for a course
        not yet over, and for the latest OVERDUE_LEFT_UNPAID past their due date."""
        today = self.now.astimezone(LONDON).date()
        ordered = sorted(self.invoiced, key=lambda b: (b.confirmed_at, b.reference))
        past_due = [b for b in ordered if b.session.ends_at <= self.now
                    and b.confirmed_at.astimezone(LONDON).date() + timedelta(due_days) < today]
        left_owing = {b.reference for b in past_due[-OVERDUE_LEFT_UNPAID:]}
        plan = []
        for booking in ordered:
            paid_at = booking.confirmed_at + timedelta(
                days=self.rng.randint(*INVOICE_PAID_AFTER_DAYS),
                minutes=self.rng.randint(0, 480))
            if (booking.session.ends_at > self.now or booking.reference in left_owing
                    or paid_at >= self.now):
                paid_at = None
            plan.append((booking, paid_at))
        return plan

    def _cancel(self, booking: Booking, at: datetime, *, refund_pence: int | None = None) -> None:
        """Cancelled at `at` and refunded to the card what the policy owed then (or
        `refund_pence`). Only card-paid bookings are cancelled here."""
        owed = refund_pence if refund_pence is not None else self.policy.refund_due_pence(
            booking.amount_pence, booking.session.starts_at, at)
        booking.status, booking.cancelled_at, booking.updated_at = BookingStatus.CANCELLED, at, at
        booking.refund_due_pence = owed
        payment = next(p for p in self.payments if p.booking is booking)
        if not payment.is_card:
            raise ValueError("the demo cancels card-paid bookings only")
        if owed:
            self.refunds.append(Refund(
                booking=booking, payment=payment, amount_pence=owed, reason=REASON_CANCELLATION,
                status=RefundStatus.SUCCEEDED, provider_refund_id=f"re_demo_{booking.reference}",
                idempotency_key=f"refund-{booking.reference}-{REASON_CANCELLATION}", attempts=1,
                created_at=at, updated_at=at + timedelta(minutes=1)))

    def _abandoned(self, course_session: CourseSession) -> None:
        """A hold nobody paid for: expired, its seats long free again."""
        created_at = self.now - timedelta(days=self.rng.randint(1, 20),
                                          minutes=self.rng.randint(0, 600))
        booking = self._booking(course_session, self.rng.choice((1, 2)), created_at)
        booking.status = BookingStatus.EXPIRED
        booking.updated_at = booking.hold_expires_at
        self.bookings.append(booking)

    def _attendance(self, course_session: CourseSession, booked: list[Booking]) -> None:
        """The register as the trainer took it, and a certificate for everyone who
        attended, dated the course's last day."""
        completed_on = course_session.ends_at.astimezone(LONDON).date()
        months = course_session.course.certificate_validity_months
        for booking in booked:
            for attendee in booking.attendees:
                attendee.attended = self.rng.random() >= NO_SHOW_RATE
                if attendee.attended:
                    attendee.certificate_number = self._certificate_number(completed_on)
                    attendee.certificate_issued_on = completed_on
                    attendee.certificate_expires_on = add_months(completed_on, months)

    def _wait(self, course_session: CourseSession, status: WaitlistStatus,
              created_at: datetime) -> None:
        name, email = _person(self.rng)
        self.waitlist.append(WaitlistEntry(
            session=course_session, name=name, email=email,
            phone=f"+447700900{self.rng.randrange(1000):03d}",
            seats=self.rng.choice((1, 1, 2)), status=status,
            created_at=created_at, updated_at=created_at))

    def _booking(self, course_session: CourseSession, seats: int,
                 created_at: datetime) -> Booking:
        """A held booking as the booking form makes it; the caller says what became of it."""
        contact = _person(self.rng)
        people = [contact] + [_person(self.rng) for _ in range(seats - 1)]
        return Booking(
            reference=_reference(self.rng, self.references),
            session=course_session,
            contact_name=contact[0], contact_email=contact[1],
            contact_phone=f"+447700900{self.rng.randrange(1000):03d}",  # Ofcom's drama range
            contact_postcode=self.rng.choice(_CUSTOMER_POSTCODES),
            company=self.rng.choice(_COMPANIES),
            seats=seats,
            amount_pence=seats * course_session.price_pence,
            status=BookingStatus.HELD,
            hold_expires_at=created_at + timedelta(minutes=self.policy.hold_minutes),
            created_at=created_at,
            updated_at=created_at,
            attendees=[Attendee(position=i, full_name=name, email=email if i == 0 else None)
                       for i, (name, email) in enumerate(people)],
        )

    def _certificate_number(self, completed_on: date) -> str:
        """Like certificates.new_certificate_number(), from the seeded generator."""
        while True:
            number = f"RFT-{completed_on:%y%m}-" + "".join(
                self.rng.choice(NUMBER_ALPHABET) for _ in range(6))
            if number not in self.certificate_numbers:
                self.certificate_numbers.add(number)
                return number


def _invoices(plan: list[tuple[Booking, datetime | None]],
              settings: InvoiceSettings) -> list[Invoice]:
    """Write each booking's invoice as issue_invoice would have on the day it was
    confirmed (its number from the same counter, the same figures; no event, so no
    email), and each bank transfer that paid one as mark_invoice_paid records it."""
    payments = PaymentRepository()
    written = []
    for booking, paid_at in plan:
        invoice = invoicing.write_invoice(
            booking, contact_billing(booking), settings=settings,
            issued_on=booking.confirmed_at.astimezone(LONDON).date(),
            created_at=booking.confirmed_at, updated_at=paid_at or booking.confirmed_at)
        if paid_at is None:
            booking.payment_note = f"Invoice {invoice.number}: payment due"
        else:
            reference = f"BACS {invoice.number}"
            invoice.paid_at, invoice.paid_reference = paid_at, reference
            payments.add(Payment(
                booking_id=booking.id, provider="bank_transfer",
                amount_pence=invoice.gross_pence, currency=CURRENCY,
                status=PaymentStatus.SUCCEEDED, paid_at=paid_at,
                created_at=paid_at, updated_at=paid_at))
            booking.payment_note = (f"Invoice {invoice.number} paid by bank transfer: "
                                    f"{reference}")
        booking.updated_at = paid_at or booking.confirmed_at
        written.append(invoice)
    return written


def _invoice_reminders_already_behind_us(now: datetime, invoices: list[Invoice],
                                         reminder_days: Sequence[int]) -> list[SentEmail]:
    """The reminders of unpaid invoices whose days have come by `now` (UK date),
    recorded as skipped, so the reminder job does not send them on its first run."""
    today = now.astimezone(LONDON).date()
    return [SentEmail(dedupe_key=invoice_reminder_key(invoice.number, days),
                      booking_id=invoice.booking_id, to_address=invoice.billing_email,
                      template="invoice_reminder", status=SKIPPED,
                      subject="Invoice reminder (demo history: not sent)",
                      created_at=now)
            for invoice in invoices if not invoice.is_paid
            for days in reminder_days if invoice.due_on + timedelta(days=days) <= today]


def _booked_share(lead_time: timedelta) -> float:
    """The chance a session already has bookings, by how far off it is."""
    return 0.7 if lead_time < timedelta(30) else 0.4 if lead_time < timedelta(60) else 0.15


def _reminders_already_behind_us(now: datetime, bookings: list[Booking], reminder_days: int,
                                 certificate_days: Sequence[int] | int) -> list[SentEmail]:
    """The reminders a real past would have sent by `now`, recorded as skipped
    (never sent), so the reminder jobs do not send them on their first run."""
    rows = []
    today = now.astimezone(LONDON).date()
    for booking in bookings:
        if (booking.status == BookingStatus.CONFIRMED
                and now < booking.session.starts_at <= now + timedelta(days=reminder_days)):
            rows.append(SentEmail(
                dedupe_key=course_reminder_key(booking), booking_id=booking.id,
                to_address=booking.contact_email, template="course_reminder", status=SKIPPED,
                subject="Course reminder (demo history: not sent)", created_at=now))
        for attendee in booking.attendees:
            expires = attendee.certificate_expires_on
            window = next((days for days, first, last in reminder_windows(certificate_days, today)
                           if expires and first <= expires <= last), None)
            if window is not None:
                rows.append(SentEmail(
                    dedupe_key=certificate_expiry_key(attendee.certificate_number, window),
                    booking_id=booking.id,
                    to_address=attendee.email or booking.contact_email,
                    template="certificate_expiry", status=SKIPPED,
                    subject="Certificate expiry reminder (demo history: not sent)",
                    created_at=now))
    return rows


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    email = f"{first}.{last}".lower().replace("'", "") + "@example.com"
    return f"{first} {last}", email


def _reference(rng: random.Random, taken: set[str]) -> str:
    """Like booking.new_reference(), but from the seeded generator."""
    while True:
        reference = "".join(rng.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        if reference not in taken:
            taken.add(reference)
            return reference
