"""Which mail transport and worker settings each environment gets."""
import pytest

from app.config import ConfigError, load_config


def test_embedded_default_writes_eml_files_under_the_instance_folder():
    config = load_config("/srv/instance", {})
    assert config["MAIL_BACKEND"] == "app.services.messaging.mail_backend"
    assert config["MAIL_FILE_PATH"] == "/srv/instance/mail"
    assert config["RUN_WORKER_IN_PROCESS"] is True


def test_a_mail_server_means_smtp():
    config = load_config("/srv/instance", {"MAIL_SERVER": "smtp.example.com", "MAIL_PORT": "587",
                                           "MAIL_USE_TLS": "1"})
    assert (config["MAIL_BACKEND"], config["MAIL_PORT"], config["MAIL_USE_TLS"]) == \
        ("smtp", 587, True)


def test_production_runs_separate_workers_and_prints_no_demo_vat_number():
    config = load_config("/srv/instance", {"APP_ENV": "production", "SECRET_KEY": "s" * 40,
                                           "PAYMENT_PROVIDER": "stripe",
                                           "PUBLIC_BASE_URL": "https://book.example.co.uk",
                                           "METRICS_TOKEN": "m" * 32})
    assert config["RUN_WORKER_IN_PROCESS"] is False
    assert config["PROVIDER_VAT_NUMBER"] == ""


@pytest.mark.parametrize("name, expected", [
    ("locmem", "locmem"), ("FILE", "app.services.messaging.mail_backend"), ("console", "console")])
def test_backends_by_name(name, expected):
    assert load_config("/i", {"MAIL_BACKEND": name})["MAIL_BACKEND"] == expected


def test_an_unknown_backend_is_refused():
    with pytest.raises(ConfigError, match="MAIL_BACKEND"):
        load_config("/i", {"MAIL_BACKEND": "pigeon"})
