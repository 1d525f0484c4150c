"""Each process's database pool: fixed size, no overflow, sized by the environment;
an in-memory SQLite database, which has no pool to size, takes none of it."""
import pytest

from app.config import ConfigError, engine_options, load_config


def test_the_pool_is_fixed_and_pinged_by_default():
    options = load_config("/srv/instance", {})["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options == {"pool_size": 10, "max_overflow": 0, "pool_timeout": 10.0,
                       "pool_recycle": 3600, "pool_pre_ping": True}


def test_the_environment_sizes_the_pool():
    options = load_config("/srv/instance", {
        "DATABASE_POOL_SIZE": "20", "DATABASE_POOL_OVERFLOW": "5", "DATABASE_POOL_TIMEOUT": "2.5",
        "DATABASE_POOL_RECYCLE": "600", "DATABASE_POOL_PRE_PING": "false",
    })["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options == {"pool_size": 20, "max_overflow": 5, "pool_timeout": 2.5,
                       "pool_recycle": 600, "pool_pre_ping": False}


@pytest.mark.parametrize("name, value", [
    ("DATABASE_POOL_SIZE", "0"), ("DATABASE_POOL_OVERFLOW", "-1"),
    ("DATABASE_POOL_TIMEOUT", "0"), ("DATABASE_POOL_SIZE", "ten"),
])
def test_a_pool_that_cannot_work_stops_the_start(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config("/srv/instance", {name: value})


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_takes_no_pool_sizes(url):
    options = engine_options(url, {"pool_size": 10, "max_overflow": 0, "pool_timeout": 10.0,
                                   "pool_pre_ping": True})
    assert options == {"pool_pre_ping": True}


def test_a_database_file_keeps_its_pool_sizes():
    options = {"pool_size": 10, "max_overflow": 0, "pool_timeout": 10.0}
    assert engine_options("sqlite:////srv/instance/booking.sqlite3", options) == options
