"""gunicorn's logger class: its own lines are redacted JSON, and GUNICORN_ACCESS_LOG
decides where the application's access line goes ("-", a file, or nowhere)."""
from __future__ import annotations

import io
import json
import logging

import pytest
from gunicorn.config import Config

from app.monitoring.logs import ACCESS_LOGGER, GunicornLogger

LOGGERS = ("gunicorn.error", "gunicorn.access", ACCESS_LOGGER)


@pytest.fixture(autouse=True)
def restore_loggers():
    """The logger class configures process-wide loggers; put them back for the next test."""
    saved = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate,
                    logging.getLogger(name).level) for name in LOGGERS}
    yield
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate, logger.level = propagate, level


def gunicorn_logger(accesslog: str | None) -> GunicornLogger:
    cfg = Config()
    cfg.set("accesslog", accesslog)
    cfg.set("errorlog", "-")
    return GunicornLogger(cfg)


def test_the_access_line_goes_to_the_access_log_file_as_redacted_json(tmp_path):
    path = tmp_path / "access.log"
    gunicorn_logger(str(path))
    logging.getLogger(ACCESS_LOGGER).info(
        "GET %s 200", "/password/reset/<token>",
        extra={"request_id": "r1", "path": "/password/reset/NQ.awyKcw.4br6ZP5KxzGHSzXFeet0ptMIMSU"})
    line = json.loads(path.read_text().strip())
    assert line["request_id"] == "r1" and line["logger"] == ACCESS_LOGGER
    assert line["path"] == "/password/reset/[redacted]"


def test_an_empty_access_log_setting_writes_no_access_line(capsys):
    gunicorn_logger(None)
    logging.getLogger(ACCESS_LOGGER).info("GET / 200", extra={"request_id": "r2"})
    captured = capsys.readouterr()
    assert "r2" not in captured.out + captured.err
    assert all(isinstance(h, logging.NullHandler)
               for h in logging.getLogger(ACCESS_LOGGER).handlers)


def test_gunicorn_error_lines_are_redacted_json(monkeypatch):
    logger = gunicorn_logger(None)
    stream = io.StringIO()
    (handler,) = [h for h in logger.error_log.handlers if getattr(h, "_gunicorn", False)]
    monkeypatch.setattr(handler, "stream", stream)
    logger.error("Invalid request from ip=1.2.3.4: %s",
                 "GET /bookings/X?token=Ey0_mfGw2ibGg4x53Menm5EoV1kA6Dz5KELF8Wjs1IY HTTP/1.1")
    line = json.loads(stream.getvalue())
    assert line["level"] == "ERROR" and line["logger"] == "gunicorn.error"
    assert "Ey0_mfGw2ibGg4x53Menm5EoV1kA6Dz5KELF8Wjs1IY" not in line["message"]


def test_gunicorn_writes_no_access_line_of_its_own(tmp_path):
    path = tmp_path / "access.log"
    logger = gunicorn_logger(str(path))
    logger.access(None, None, {"RAW_URI": "/bookings/X?token=abc"}, None)
    assert path.read_text() == ""
