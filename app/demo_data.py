"""The demo catalogue: what a Yorkshire first-aid provider's booking site holds.

`seed_demo()` loads courses, venues, staff, about three months of sessions and
a few confirmed bookings in one transaction, into a database without courses.
Everything random comes from one seeded `random.Random`, so for the same `now`
the demo looks the same every time.

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
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from app.models import (
    Attendee, Booking, BookingStatus, Course, CourseSession, Role, SessionStatus, User, Venue,
)
from app.repositories import (
    BookingRepository, CourseRepository, SessionRepository, UserRepository, VenueRepository,
    unit_of_work,
)
from app.services.bookings.holds import REFERENCE_ALPHABET, REFERENCE_LENGTH
from app.services.catalogue.listing import CourseFacts
from app.services.core.errors import InvalidState
from app.services.staff.accounts import create_staff_user
from app.validation import sanitize_html

LONDON = ZoneInfo("Europe/London")
RANDOM_SEED = 20130401  # any constant: the demo must look the same each time
FIRST_DAY_OFFSET = 2  # first sessions the day after tomorrow
LAST_DAY_OFFSET = 89  # ... and the last within three months


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
    sessions: int
    trainers: int
    bookings: int
    seats_booked: int
    admin_email: str
    admin_created: bool  # False when an account with that email already existed
    trainer_emails: tuple[str, ...]  # the trainer accounts this seed created


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
              admin_name: str = "Joanne Whitaker") -> SeedResult:
    """Load the demo catalogue in one transaction. `now` is an aware datetime.

    Raises InvalidState if there are courses already. Staff accounts whose
    email already exists are left as they are; new ones' passwords must meet
    the account rules (InvalidInput otherwise).
    """
    if now.tzinfo is None:
        raise ValueError("seed_demo needs an aware datetime for `now`")
    now = now.astimezone(timezone.utc)
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

        sessions = _schedule(rng, now, courses, venues, trainers)
        session_repo = SessionRepository()
        for course_session in sessions:
            session_repo.add(course_session)

        bookings = _demo_bookings(rng, now, sessions)
        booking_repo = BookingRepository()
        for booking in bookings:
            booking_repo.add(booking)

    return SeedResult(
        courses=len(courses), venues=len(venues), sessions=len(sessions),
        trainers=len(trainers), bookings=len(bookings),
        seats_booked=sum(b.seats for b in bookings),
        admin_email=admin_email, admin_created=admin_created,
        trainer_emails=tuple(created_trainers),
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
def _schedule(rng: random.Random, now: datetime, courses: list[Course], venues: list[Venue],
              trainers: list[User]) -> list[CourseSession]:
    """Spread each course's sessions evenly over the quarter, one per time slice
    (or, if none of its days will do, any day of the quarter), on a day when
    some trainer and some venue are free for every day of the course."""
    today = now.astimezone(LONDON).date()
    first, last = today + timedelta(FIRST_DAY_OFFSET), today + timedelta(LAST_DAY_OFFSET)
    span = (last - first).days + 1
    quarter = [first + timedelta(d) for d in range(span)]
    closed = set().union(*(_days_closed(year) for year in range(first.year, last.year + 1)))
    busy: set[tuple[str, int, date]] = set()  # ("trainer" | "venue", id, day)
    sessions = []

    for spec, course in zip(COURSES, courses):
        count = spec.sessions_in_quarter
        for i in range(count):
            in_slice = quarter[i * span // count:(i + 1) * span // count]
            elsewhere = [d for d in quarter if d not in in_slice]
            rng.shuffle(in_slice)
            rng.shuffle(elsewhere)
            for day in in_slice + elsewhere:
                days = [day + timedelta(k) for k in range(spec.duration_days)]
                if not _can_run_on(spec, days, closed):
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


# -- bookings --------------------------------------------------------------------
def _demo_bookings(rng: random.Random, now: datetime,
                   sessions: list[CourseSession]) -> list[Booking]:
    """Confirmed bookings, more on the sooner sessions: the first one-day session
    is sold out, the first multi-day one has a single seat left, the rest vary."""
    if not sessions:
        return []
    full = next((s for s in sessions if s.course.duration_days == 1), sessions[0])
    nearly_full = next((s for s in sessions if s.course.duration_days > 1 and s is not full), None)
    references: set[str] = set()
    bookings = []
    for course_session in sessions:
        if course_session is full:
            target = course_session.capacity
        elif course_session is nearly_full:
            target = course_session.capacity - 1
        elif rng.random() < _booked_share(course_session.starts_at - now):
            target = rng.randint(1, course_session.capacity * 2 // 3)
        else:
            continue
        while target > 0:
            seats = min(target, rng.choice((1, 1, 1, 2, 2, 3, 4)))
            bookings.append(_booking(rng, now, course_session, seats, references))
            target -= seats
    return bookings


def _booked_share(lead_time: timedelta) -> float:
    """The chance a session already has bookings, by how far off it is."""
    return 0.7 if lead_time < timedelta(30) else 0.4 if lead_time < timedelta(60) else 0.15


def _booking(rng: random.Random, now: datetime, course_session: CourseSession, seats: int,
             references: set[str]) -> Booking:
    """A confirmed booking as if paid a few weeks ago. No Payment row is written
    (no money moved), which `payment_note` says for the admin pages."""
    contact = _person(rng)
    company = rng.choice(_COMPANIES)
    created_at = now - timedelta(days=rng.randint(1, 28), minutes=rng.randint(0, 600))
    confirmed_at = created_at + timedelta(minutes=rng.randint(2, 12))
    people = [contact] + [_person(rng) for _ in range(seats - 1)]
    return Booking(
        reference=_reference(rng, references),
        session=course_session,
        contact_name=contact[0], contact_email=contact[1],
        contact_phone=f"+447700900{rng.randrange(1000):03d}",  # Ofcom's drama range
        contact_postcode=rng.choice(_CUSTOMER_POSTCODES),
        company=company,
        seats=seats,
        amount_pence=seats * course_session.price_pence,
        status=BookingStatus.CONFIRMED,
        hold_expires_at=created_at + timedelta(minutes=30),
        confirmed_at=confirmed_at,
        created_at=created_at,
        updated_at=confirmed_at,
        payment_note="Demo booking: no payment was taken.",
        attendees=[Attendee(position=i, full_name=name, email=email if i == 0 else None)
                   for i, (name, email) in enumerate(people)],
    )


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
