"""The OpenAPI file the web app's types are generated from describes the errors too."""

from __future__ import annotations

from api.main import app


def test_every_api_route_documents_its_refusals_with_their_shape() -> None:
    spec = app.openapi()
    for path, methods in spec["paths"].items():
        if not path.startswith("/api/") or path == "/api/health":
            continue
        for method, operation in methods.items():
            responses = operation["responses"]
            for code in ("401", "403", "404", "409", "422"):
                assert code in responses, f"{method.upper()} {path} does not document {code}"
            schema = responses["422"]["content"]["application/json"]["schema"]["$ref"]
            assert schema.endswith("/ValidationProblem"), f"{method.upper()} {path}: {schema}"
    detail = spec["components"]["schemas"]["ValidationProblem"]["properties"]
    assert detail["detail"]["type"] == "string" and detail["errors"]["type"] == "array"
