"""The administrators' pages under /admin: one module per area.

    dashboard  /admin/                      today's sessions, open alerts, recent bookings
    sessions   /admin/sessions...           timetable, series, trainer, capacity, move, cancel
    bookings   /admin/bookings...           search, timeline, resend, names, transfer, cancel,
                                            refund, manual bookings (invoice, bank transfer)
    courses    /admin/courses...            catalogue, rich descriptions, soft delete
    venues     /admin/venues...
    trainers   /admin/trainers...
    waitlist   /admin/waiting-lists...      offers and removals
    events     /admin/events...             dead-lettered outbox deliveries, replay
    activity   /admin/activity, /alerts     audit feed and alerts
    monitoring /admin/monitoring            health, traffic, backlog, database performance
    analytics  /admin/analytics             figures for a date range, charts, refresh now
    settings   /admin/settings              features switched on and off (invoices, ...)
    discounts  /admin/discounts...          discount codes: create, edit, deactivate, uses
    invoices   /admin/invoices...           unpaid and overdue invoices, mark paid, credit notes
    enquiries  /admin/enquiries...          on-site enquiries: answer, close, private session
    session_messages /admin/sessions/<id>/message...  email everyone booked on a session
    exports    /admin/exports/..., /admin/sessions/<id>/attendees.csv   CSV downloads

Every route is decorated with `admin_required` (anonymous: sign in; trainer:
403). Routes are thin: parse the request, call one service function (which
owns the transaction and the audit record), render. Lists are HTMX tables:
the filter form and the pagination links ask for the table fragment with
hx-get and push the URL, and the response varies on HX-Request.
"""
from app.web.admin import (  # noqa: F401  (each module adds its routes to bp)
    activity, bookings, courses, dashboard, events, monitoring, sessions, trainers, venues,
    waitlist,
)
from app.web.admin import session_messages  # noqa: F401  (email a session's attendees)
from app.web.admin import exports  # noqa: F401  (CSV downloads)
from app.web.admin import analytics  # noqa: F401  (figures, charts)
from app.web.admin import settings  # noqa: F401  (feature switches)
from app.web.admin import enquiries  # noqa: F401  (on-site enquiries, private sessions)
from app.web.admin import invoices  # noqa: F401  (what is owed, mark paid, credit notes)
from app.web.admin import discounts  # noqa: F401  (discount codes and their uses)
from app.web.admin.blueprint import bp

__all__ = ["bp"]
