from tests.factories import login


def test_customer_sees_home_page_after_sign_in(client, store):
    login(client, store.customer)
    response = client.get("/")
    assert response.status_code == 200
    assert "Laptops" in response.get_data(as_text=True)
