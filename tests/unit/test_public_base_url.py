"""PUBLIC_BASE_URL: the address every absolute link is built on, required in production."""
import pytest

from app.config import ConfigError, load_config

PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "s" * 40, "PAYMENT_PROVIDER": "stripe",
              "METRICS_TOKEN": "m" * 32}


def test_production_refuses_to_start_without_a_public_base_url():
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be set"):
        load_config("/srv/instance", PRODUCTION)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be set"):
        load_config("/srv/instance", {**PRODUCTION, "PUBLIC_BASE_URL": "  "})


def test_production_with_one_keeps_it_without_the_trailing_slash():
    config = load_config("/srv/instance", {**PRODUCTION,
                                           "PUBLIC_BASE_URL": "https://book.example.co.uk/"})
    assert config["PUBLIC_BASE_URL"] == "https://book.example.co.uk"


def test_development_defaults_to_the_local_address_make_run_listens_on():
    assert load_config("/i", {})["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    assert load_config("/i", {"PORT": "8000"})["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"


@pytest.mark.parametrize("value", ["book.example.co.uk", "ftp://book.example.co.uk",
                                   "https://", "https://book.example.co.uk/?next=/admin",
                                   "https://book.example.co.uk/#top"])
def test_an_address_that_is_not_a_plain_http_url_is_refused(value):
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be an http"):
        load_config("/i", {"PUBLIC_BASE_URL": value})
