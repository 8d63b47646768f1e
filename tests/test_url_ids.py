"""Ids in URLs are bounded by the database's integer: a huge one is an unknown id (404)."""

from tests.factories import login


def test_an_id_beyond_the_database_integer_is_a_404_not_a_server_error(client, store):
    login(client, store.admin)
    assert client.get("/admin/orders/99999999999").status_code == 404
    assert client.get(f"/admin/orders/{2**31 - 1}").status_code == 404
