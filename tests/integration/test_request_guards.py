"""What no request may carry is refused at the edge with a 400, on every route."""
import pytest

DEEP_LIST = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000


@pytest.mark.parametrize("body", [DEEP_LIST, DEEP_OBJECT], ids=["list", "object"])
def test_deeply_nested_json_sent_to_a_form_route_is_a_400_not_a_recursion_error(client, body):
    response = client.post("/login", data=body, content_type="application/json")
    assert response.status_code == 400


def test_a_nul_byte_in_a_form_field_is_a_400_before_any_code_reads_it(client):
    response = client.post("/login", data={"email": "nul\x00byte@example.com",
                                           "password": "x"})
    assert response.status_code == 400
    assert "cannot accept" in response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_path_with_a_nul_byte_names_nothing_and_is_a_404(client, method):
    assert client.open("/checkout/fake/%00", method=method).status_code == 404


def test_a_nul_byte_in_a_query_value_is_refused_by_its_filter_naming_the_field(client):
    response = client.get("/api/v1/sessions?course=a%00b")
    assert response.status_code == 422 and "course" in response.get_json()["error"]["fields"]
    assert client.get("/sessions?town=Leeds%00").status_code < 500
