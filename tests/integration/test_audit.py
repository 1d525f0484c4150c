"""The audit trail keeps who changed what, with only the changed values."""
from app.models import Role
from app.services.core.audit import record_audit, search_audit, snapshot

from factories import CourseFactory, UserFactory


def test_audit_entry_keeps_only_changed_fields(app):
    admin = UserFactory(role=Role.ADMIN)
    course = CourseFactory(price_pence=10000)
    before = snapshot(course, ["title", "price_pence"])
    course.price_pence = 12000
    record_audit(admin.id, "course.update", "course", course.id,
                 before=before, after=snapshot(course, ["title", "price_pence"]))
    entry = search_audit(entity_type="course", entity_id=course.id).items[0]
    assert entry.actor.email == admin.email
    assert entry.before == {"price_pence": 10000} and entry.after == {"price_pence": 12000}


def test_audit_search_filters_by_actor_and_text(app):
    alice, bob = UserFactory(role=Role.ADMIN), UserFactory(role=Role.ADMIN)
    record_audit(alice.id, "booking.cancel", "booking", "ABCDEFGHJK")
    record_audit(bob.id, "session.capacity", "session", 7)
    assert [e.action for e in search_audit(actor_id=alice.id).items] == ["booking.cancel"]
    assert [e.entity_id for e in search_audit(text="abcdef").items] == ["ABCDEFGHJK"]
    assert search_audit().total == 2
