"""``formwork definitions validate|publish|list``: exit codes, one line per problem, no writes on validate."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from formwork.definitions import store
from formwork.definitions.models import DefinitionVersion
from formwork.extensions import db

PROBLEM_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<pointer>/\S*): (?P<message>.+)$")


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(DefinitionVersion))


def test_validate_the_configured_folder_by_default(runner, demo_org):  # routes name demo users and roles
    result = runner.invoke(args=["definitions", "validate"])
    assert result.exit_code == 0, result.output
    assert "definition(s) valid" in result.output


def test_validate_reports_each_problem_and_exits_1(runner, definitions_dir):
    trip = definitions_dir / "forms" / "trip.yaml"
    trip.write_text(
        trip.read_text(encoding="utf-8").replace("category == 'travel'", "categroy == 'travel'"),
        encoding="utf-8",
    )
    (definitions_dir / "forms" / "broken.yaml").write_text("kind: form\n  key: x\n", encoding="utf-8")
    result = runner.invoke(args=["definitions", "validate", str(definitions_dir)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if PROBLEM_LINE.match(line)]
    parsed = [PROBLEM_LINE.match(line).groupdict() for line in lines]
    assert {(p["file"].rsplit("/", 1)[-1], p["line"], p["pointer"]) for p in parsed} == {
        ("broken.yaml", "2", "/"),
        ("trip.yaml", "14", "/fields/1/visible_when"),
    }
    assert "2 problem(s) in 2 of 3 file(s)" in result.output
    assert _count() == 0  # validating never publishes


def test_validate_a_single_file(runner, definitions_dir):
    result = runner.invoke(args=["definitions", "validate", str(definitions_dir / "forms" / "leave.json")])
    assert result.exit_code == 0
    assert "1 definition(s) valid" in result.output


def test_validate_a_missing_path(runner, tmp_path):
    result = runner.invoke(args=["definitions", "validate", str(tmp_path / "nowhere")])
    assert result.exit_code != 0
    assert "no such file or folder" in result.output


def test_publish_then_unchanged_then_new_version(runner, definitions_dir):
    result = runner.invoke(args=["definitions", "publish", str(definitions_dir)])
    assert result.exit_code == 0, result.output
    assert "published: form leave version 1" in result.output
    assert "published: form trip version 1" in result.output
    assert "2 published, 0 unchanged" in result.output

    result = runner.invoke(args=["definitions", "publish", str(definitions_dir)])
    assert "unchanged: form trip version 1" in result.output and "0 published, 2 unchanged" in result.output

    trip = definitions_dir / "forms" / "trip.yaml"
    trip.write_text(
        trip.read_text(encoding="utf-8").replace("Trip request", "Business trip"), encoding="utf-8"
    )
    result = runner.invoke(args=["definitions", "publish", str(definitions_dir)])
    assert "published: form trip version 2" in result.output
    assert store.current("form", "trip").content["title"]["en"] == "Business trip"

    listing = runner.invoke(args=["definitions", "list"])
    assert listing.exit_code == 0
    assert re.search(r"form\s+trip\s+v2\s", listing.output)
    assert re.search(r"form\s+leave\s+v1\s", listing.output)


def test_publish_with_a_problem_publishes_nothing(runner, definitions_dir):
    (definitions_dir / "forms" / "bad.yaml").write_text(
        "kind: form\nkey: bad\ntitle: {zh-CN: 坏, en: Bad}\nfields: []\n", encoding="utf-8"
    )
    result = runner.invoke(args=["definitions", "publish", str(definitions_dir)])
    assert result.exit_code == 1
    assert re.search(r"bad\.yaml:4: /fields: needs at least 1 item", result.output)
    assert "nothing was published" in result.output
    assert _count() == 0


def test_list_when_empty(runner):
    result = runner.invoke(args=["definitions", "list"])
    assert result.exit_code == 0 and "no definitions published" in result.output
