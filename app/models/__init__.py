"""SQLAlchemy models, one module per aggregate. Import from here."""
from app.models.alert import Alert, AlertEmail, Severity
from app.models.analytics import AnalyticsRefresh, BookingFact, RefundFact, SessionFact
from app.models.audit import AuditLog
from app.models.booking import Attendee, Booking, BookingStatus
from app.models.certificate import SupersededCertificate
from app.models.course import Course
from app.models.course_session import CourseSession, SessionStatus
from app.models.enquiry import Enquiry, EnquiryReply, EnquiryStatus
from app.models.discount import DiscountCode, DiscountKind
from app.models.idempotency import IdempotencyRecord
from app.models.invoice import CreditNote, DocumentCounter, Invoice, InvoiceStatus
from app.models.notification import JobRun, SentEmail
from app.models.outbox import DeliveryStatus, OutboxDelivery, OutboxEvent
from app.models.payment import (
    Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent, WebhookStatus,
)
from app.models.site_setting import SiteSwitch
from app.models.session_message import SessionMessage, SessionMessageRecipient
from app.models.traffic import TrafficMinute, TrafficMinuteError
from app.models.types import utcnow
from app.models.user import Role, User
from app.models.venue import Venue
from app.models.waitlist import WaitlistEntry, WaitlistStatus

__all__ = [
    "Alert", "AlertEmail", "AnalyticsRefresh", "AuditLog", "BookingFact", "RefundFact",
    "SessionFact", "SiteSwitch", "Attendee", "Booking", "BookingStatus", "Course", "CourseSession", "DeliveryStatus",
    "IdempotencyRecord", "JobRun", "OutboxDelivery", "OutboxEvent", "Payment", "PaymentStatus",
    "Refund", "RefundStatus", "Role", "SentEmail", "SessionStatus", "Severity", "TrafficMinute",
    "TrafficMinuteError", "User", "Venue",
    "WaitlistEntry", "WaitlistStatus", "WebhookEvent", "WebhookStatus", "utcnow",
    "SessionMessage", "SessionMessageRecipient",
    "Enquiry", "EnquiryReply", "EnquiryStatus",
    "CreditNote", "DocumentCounter", "Invoice", "InvoiceStatus",
    "SupersededCertificate",
    "DiscountCode", "DiscountKind",
]
