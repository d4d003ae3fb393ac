"""Hostile definition sources: a clear problem (file, line, pointer, what is wrong), never a crash.

The same sources through the API (422 with the problems, or 400 for a body that is not
JSON at all) and through ``formwork definitions validate|publish`` (exit 1, one line each).
"""

from __future__ import annotations

import json

import pytest

DEEP_YAML = "kind: form\nkey: deep\nfields: " + "[" * 10_000 + "]" * 10_000 + "\n"
DEEP_BLOCK_YAML = "kind: form\nkey: deep\nx:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, 200))
DEEP_JSON = '{"kind": "form",\n "key": "deep",\n "x": ' + "[" * 600 + "]" * 600 + "}"
LONG_INTEGER_YAML = "kind: form\nkey: big\ntitle: {en: Big}\nmax: " + "9" * 5000 + "\n"
LONG_INTEGER_JSON = '{"kind": "form",\n "key": "big",\n "max": ' + "9" * 5000 + "}"
NUL_YAML = 'kind: form\nkey: nul\ntitle: {en: "a\\0b"}\n'

CASES = {
    "deep.yaml": (DEEP_YAML, 3, "/fields/0/0/0", "nested more than 64 levels deep"),
    "block.yaml": (DEEP_BLOCK_YAML, None, "/x/0/k1", "nested more than 64 levels deep"),
    "deep.json": (DEEP_JSON, 3, "/x/0/0", "nested more than 64 levels deep"),
    "big.yaml": (LONG_INTEGER_YAML, 4, "/max", "the number has more than 100 digits"),
    "big.json": (LONG_INTEGER_JSON, 3, "/max", "the number has more than 100 digits"),
    "nul.yaml": (NUL_YAML, 3, "/title/en", "NUL character"),
}


@pytest.fixture
def admin(demo_org, bearer):
    return bearer("admin")


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("action", ["validate", "publish"])
def test_api_reports_the_problem_with_line_and_pointer(client, admin, name, action):
    source, line, pointer, message = CASES[name]
    response = client.post(f"/api/definitions/{action}", json={"source": source, "name": name}, headers=admin)
    assert response.status_code == 422
    [problem] = response.get_json()["errors"]
    assert message in problem["message"]
    assert problem["pointer"].startswith(pointer)
    if line is not None:
        assert problem["line"] == line
    assert problem["source"] == name


def test_api_content_object_is_bounded_too(client, admin):
    deep: object = []
    for _ in range(200):
        deep = [deep]
    response = client.post(
        "/api/definitions/validate", json={"content": {"kind": "form", "x": deep}}, headers=admin
    )
    assert response.status_code == 400 and "nested more than" in response.get_json()["error"]
    response = client.post(
        "/api/definitions/validate", json={"content": {"kind": "form", "key": "a\x00"}}, headers=admin
    )
    assert response.status_code == 400 and response.get_json()["field"] == "/content/key"


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"source": ' + "9" * 5000 + "}",
        '{"source": "x", "name": NaN}',
    ],
    ids=["100000-deep", "5000-digits", "NaN"],
)
def test_api_hostile_bodies_are_400(client, admin, body):
    response = client.post(
        "/api/definitions/validate", data=body, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "error" in response.get_json()


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("command", ["validate", "publish"])
def test_cli_prints_one_line_and_exits_1(runner, demo_org, tmp_path, name, command):
    source, line, pointer, message = CASES[name]
    folder = tmp_path / "defs" / "forms"
    folder.mkdir(parents=True)
    path = folder / name
    path.write_text(source, encoding="utf-8")
    result = runner.invoke(args=["definitions", command, str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    expected = f"{path}:{line}: " if line is not None else f"{path}:"
    [reported] = [row for row in result.output.splitlines() if message in row]
    assert reported.startswith(expected) and pointer in reported


def test_a_definition_at_the_depth_limit_is_read(tmp_path):
    from formwork.definitions.loader import MAX_DEPTH, read_source

    text = json.dumps({"kind": "form", "x": json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))})
    assert read_source(text, "ok.json").content["kind"] == "form"
