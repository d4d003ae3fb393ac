"""``formwork definitions validate`` with no database: the folder checked against itself and its org files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from formwork.cli import build_cli

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = PROJECT_ROOT / "definitions"
PROBLEM_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<pointer>/\S*): (?P<message>.+)$")


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Path:
    """A fresh, empty instance folder; no application is built in these tests."""
    folder = tmp_path / "instance"
    monkeypatch.setenv("FORMWORK_INSTANCE_PATH", str(folder))
    monkeypatch.delenv("FORMWORK_DATABASE_URL", raising=False)
    monkeypatch.delenv("FORMWORK_DEFINITIONS_DIR", raising=False)
    return folder


@pytest.fixture
def copy(tmp_path) -> Path:
    """A copy of the shipped definitions folder to break."""
    target = tmp_path / "definitions"
    shutil.copytree(SHIPPED, target)
    return target


def _validate(*args: str):
    return CliRunner().invoke(build_cli(), ["definitions", "validate", *args], catch_exceptions=False)


def _problems(output: str) -> set[tuple[str, str, str]]:
    found = set()
    for line in output.splitlines():
        match = PROBLEM_LINE.match(line)
        if match and not match["message"].startswith("warning:"):
            found.add(
                (
                    match["file"].rsplit("/", 2)[-2] + "/" + match["file"].rsplit("/", 1)[-1],
                    match["line"],
                    match["pointer"],
                )
            )
    return found


def _replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _line_of(path: Path, text: str) -> str:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return str(number)
    raise AssertionError(f"{text!r} not in {path}")


def test_the_shipped_folder_is_valid_on_a_fresh_instance_in_a_real_process(instance, tmp_path):
    env = {**os.environ, "FORMWORK_INSTANCE_PATH": str(instance)}
    env.pop("FORMWORK_DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from formwork.cli import main; main()",
            "definitions",
            "validate",
            str(SHIPPED),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "definition(s) valid" in result.stdout and "demo.yaml" in result.stdout
    assert "Traceback" not in result.stderr
    assert not instance.exists()  # no database file, no secret key, not even the folder
    assert not list(tmp_path.rglob("*.db"))


def test_the_shipped_folder_is_valid_in_process(instance):
    result = _validate(str(SHIPPED))
    assert result.exit_code == 0, result.output
    assert "23 definition(s) valid (organisation:" in result.output
    assert not instance.exists()


def test_a_route_naming_a_missing_user_role_and_step(instance, copy):
    route = copy / "routes" / "expense_claim.yaml"
    _replace(route, "- user: admin", "- user: nobody")
    _replace(route, "- role: finance_reviewer\n    mode: any", "- role: finance_reviewr\n    mode: any")
    _replace(route, "return_to: finance_review", "return_to: finance_reviw")
    result = _validate(str(copy))
    assert result.exit_code == 1, result.output
    assert _problems(result.output) == {
        ("routes/expense_claim.yaml", _line_of(route, "user: nobody"), "/fallback/0/user"),
        ("routes/expense_claim.yaml", _line_of(route, "role: finance_reviewr"), "/steps/1/approvers/0/role"),
        ("routes/expense_claim.yaml", _line_of(route, "return_to: finance_reviw"), "/steps/2/return_to"),
    }
    assert 'unknown user "nobody"' in result.output and 'unknown role "finance_reviewr"' in result.output
    assert "Traceback" not in result.output
    assert not instance.exists()


def test_a_route_naming_a_missing_department(instance, copy):
    route = copy / "routes" / "expense_claim.yaml"
    _replace(route, "- department_head: 0", "- department_head: 0\n        department: NOWHERE")
    result = _validate(str(copy))
    assert result.exit_code == 1
    assert (
        "routes/expense_claim.yaml",
        _line_of(route, "department: NOWHERE"),
        "/steps/0/approvers/0/department",
    ) in _problems(result.output)


def test_a_form_with_a_bad_expression(instance, copy):
    form = copy / "forms" / "purchase_request.yaml"
    _replace(form, "expression: quantity * unit_price", "expression: quantity * unit_prise")
    result = _validate(str(copy))
    assert result.exit_code == 1
    problems = _problems(result.output)
    line = _line_of(form, "unit_prise")
    assert any(p[0] == "forms/purchase_request.yaml" and p[1] == line for p in problems), result.output
    # The route of that form is not blamed for it beyond one line pointing at the form.
    assert 'form "purchase_request" has problems of its own' in result.output


def test_a_route_whose_form_is_not_in_the_folder(instance, copy):
    (copy / "forms" / "contract_payment.yaml").unlink()
    result = _validate(str(copy))
    assert result.exit_code == 1
    assert 'unknown form "contract_payment": no form with this key in the definitions folder' in result.output


def test_a_single_route_file_is_checked_with_its_folder_for_reference(instance, copy):
    result = _validate(str(copy / "routes" / "expense_claim.yaml"))
    assert result.exit_code == 0, result.output
    assert "1 definition(s) valid" in result.output


def test_without_an_organisation_file_names_are_a_warning(instance, copy):
    (copy / "org" / "demo.yaml").unlink()
    _replace(copy / "routes" / "expense_claim.yaml", "- user: admin", "- user: nobody")
    result = _validate(str(copy))
    assert result.exit_code == 0, result.output
    assert "warning: the users, roles and departments this route names were not checked" in result.output
    assert (
        "7 warning(s)" in result.output and "organisation: none" in result.output
    )  # 4 routes, 3 permission files
    strict = _validate("--strict", str(copy))
    assert strict.exit_code == 1
    given = _validate("--org", str(SHIPPED / "org" / "demo.yaml"), str(copy))
    assert given.exit_code == 1 and 'unknown user "nobody"' in given.output


def test_a_broken_organisation_file_is_reported_with_its_line(instance, copy):
    org = copy / "org" / "demo.yaml"
    _replace(org, "    roles: [finance_reviewer]", "    roles: [finance_reviewers]")
    result = _validate(str(copy))
    assert result.exit_code == 1
    assert ("org/demo.yaml", _line_of(org, "finance_reviewers"), "/users/5/roles/0") in _problems(
        result.output
    )


def test_an_explicit_org_file_of_another_kind_is_refused(instance, copy):
    result = _validate("--org", str(copy / "org" / "budgets.yaml"), str(copy))
    assert result.exit_code == 1
    assert "not an organisation file" in result.output


def test_an_internal_error_is_one_line_and_exit_2(instance, copy, monkeypatch):
    import formwork.forms.checks as checks
    import formwork.forms.model as model

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(model, "compile_form", broken)
    monkeypatch.setattr(checks, "compile_form", broken)
    result = _validate(str(copy))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "internal error while checking this form (KeyError: 'boom')" in result.output


def test_an_unexpected_failure_of_the_command_is_one_line_and_exit_2(instance, copy, monkeypatch):
    import formwork.definitions.cli as definitions_cli

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(definitions_cli, "validate_offline", broken)
    result = _validate(str(copy))
    assert result.exit_code == 2
    assert result.output.strip() == "error: the definitions could not be checked: RuntimeError: disk on fire"


def test_database_mode_still_checks_against_the_database(runner, demo_org):
    result = runner.invoke(args=["definitions", "validate", "--database"])
    assert result.exit_code == 0, result.output
    assert "definition(s) valid" in result.output
