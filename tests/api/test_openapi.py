"""The OpenAPI document covers every /api route, so it cannot drift from the code."""

from __future__ import annotations

import re


def test_every_api_rule_is_documented(app, client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"Record", "Error", "ValidationErrors"} <= set(document["components"]["schemas"])
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing, f"not in api/openapi.py: {missing}"


def test_documented_paths_exist(app, client):
    document = client.get("/api/openapi.json").get_json()
    rules = {re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", r.rule) for r in app.url_map.iter_rules()}
    assert set(document["paths"]) <= rules
