"""Every route that takes a row id takes it through the one `id` converter
(app.web.converters): an id no column can hold is 404, never a 500."""
from __future__ import annotations

import pytest
from werkzeug.routing.converters import NumberConverter

from app.web.converters import IdConverter

TWENTY_DIGITS = "9" * 20


def id_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(c, NumberConverter) for c in rule._converters.values())]


def url_with(rule, value: str) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = path.replace(f"<id:{name}>", value).replace(f"<int:{name}>", value)
        path = path.replace(f"<{name}>", "BK7Q2M")
    return path


def test_every_route_with_a_numeric_id_uses_the_id_converter(app):
    rules = id_rules(app)
    assert len(rules) >= 30
    unbounded = [rule.rule for rule in rules
                 if not all(isinstance(c, IdConverter) for c in rule._converters.values()
                            if isinstance(c, NumberConverter))]
    assert unbounded == []


@pytest.mark.parametrize("who", ["admin", "trainer", "anonymous"])
def test_a_20_digit_id_is_not_found_on_every_route(app, who, admin_user, trainer_user, login):
    client = app.test_client()
    if who != "anonymous":
        login(client, admin_user if who == "admin" else trainer_user)
    answers = {}
    for rule in id_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url_with(rule, TWENTY_DIGITS), method=method)
            answers[(method, rule.rule)] = response.status_code
    assert len(answers) >= 35
    # werkzeug's matcher may answer a POST 405 before it tries the id (the path has a
    # GET rule too); any other answer than "no such thing" would be wrong.
    wrong = {key: status for key, status in answers.items()
             if status != 404 and not (key[0] != "GET" and status == 405)}
    assert wrong == {}


@pytest.mark.parametrize("value", ["0", "2147483648", TWENTY_DIGITS])
def test_an_id_out_of_the_column_range_is_404_as_a_page_and_in_the_api(client, value):
    assert client.get(f"/sessions/{value}").status_code == 404
    response = client.get(f"/api/v1/sessions/{value}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
