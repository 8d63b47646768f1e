"""The OpenAPI document, the reference page and the `flask api create-key` command."""

from __future__ import annotations

from tests.api.conftest import bearer
from webapp.api.models import ApiKey
from webapp.extensions import db


def test_the_openapi_document_is_3_1_and_describes_every_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    documented = {path for path in spec["paths"]}
    routes = {
        rule.rule.replace("<int:", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api_")
        and not rule.endpoint.startswith("api_docs")
        and not rule.endpoint.startswith("api_admin")
    }
    assert routes and routes <= documented
    post = spec["paths"]["/api/v1/quotes"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in post["parameters"]]


def test_the_reference_page_loads_swagger_ui_from_our_own_origin(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/static/vendor/swagger-ui-bundle.js" in html
    assert "http" not in html.split("<body>")[1].split("swagger-ui-bundle.js")[0]


def test_the_cli_prints_a_working_key_once(app, client, store):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "api",
            "create-key",
            "--name",
            "ERP",
            "--scope",
            "catalog:read",
            "--admin",
            store.admin.email,
        ]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    db.session.expire_all()
    assert db.session.query(ApiKey).filter_by(name="ERP").one().key_hash != secret
    assert client.get("/api/v1/products", headers=bearer(secret)).status_code == 200
    refused = runner.invoke(
        args=[
            "api",
            "create-key",
            "--name",
            "X",
            "--scope",
            "catalog:read",
            "--admin",
            store.sales.email,
        ]
    )
    assert refused.exit_code != 0
    assert "Only an admin" in refused.output
