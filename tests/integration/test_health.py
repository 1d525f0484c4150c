"""Health probes and metrics the operations team watches."""
from app.repositories import unit_of_work
from app.services.core import events


def test_live_answers(client):
    assert client.get("/health/live").get_json() == {"status": "ok"}


def test_ready_checks_the_database_and_reports_breakers(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert set(body["checks"]["breakers"]) == {"payments", "refunds", "webhooks"}


def test_ready_is_503_when_the_database_is_gone(client, monkeypatch):
    monkeypatch.setattr("app.monitoring.health.database_ok", lambda: False)
    response = client.get("/health/ready")
    assert response.status_code == 503 and response.get_json()["status"] == "unavailable"


def test_an_open_breaker_degrades_but_does_not_unready(client, monkeypatch):
    monkeypatch.setattr("app.monitoring.health.breaker_states",
                        lambda: {"payments": "open", "refunds": "closed", "webhooks": "closed"})
    response = client.get("/health/ready")
    assert response.status_code == 200 and response.get_json()["status"] == "degraded"


def test_metrics_are_prometheus_text_with_breakers_and_outbox(app, client):
    events.registry.register([events.Handler("test.metrics.probe", frozenset({"MetricsProbe"}),
                                             lambda event: None)])
    try:
        with unit_of_work():
            events.record_event("MetricsProbe", "x")
    finally:
        events.registry.unregister("test.metrics.probe")
    response = client.get("/metrics")
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'booking_breaker_state{breaker="payments"} 0' in text
    assert 'booking_outbox_deliveries{status="pending"} 1' in text
