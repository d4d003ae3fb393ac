"""The demo organisation from ``definitions/org/demo.yaml`` and the ``formwork demo`` commands."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import click
import yaml
from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from ..budgets.seed import seed_demo_budgets
from ..config import DEMO_PASSWORD
from ..extensions import db, transaction
from ..org.models import Department, Role, RoleAssignment, User
from .history import generate, has_history

DEMO_FILE = Path("org") / "demo.yaml"


class DemoDataError(ValueError):
    """The demo organisation file is inconsistent (unknown department, manager or role)."""


def demo_file() -> Path:
    return Path(current_app.config["FORMWORK_DEFINITIONS_DIR"]) / DEMO_FILE


def load_demo_data(path: Path | None = None) -> dict[str, Any]:
    with open(path or demo_file(), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or data.get("kind") != "organisation":
        raise DemoDataError(f"{path or demo_file()}: not an organisation file")
    return data


@lru_cache(maxsize=1)
def _demo_password_hash() -> str:
    # One hash for the one public demo password: seeding stays fast, and a shared salt
    # protects nothing less for a password that is printed on the sign-in page anyway.
    return generate_password_hash(DEMO_PASSWORD)


def _upsert_departments(rows: list[dict]) -> dict[str, Department]:
    existing = {d.code: d for d in db.session.scalars(select(Department))}
    for row in rows:
        department = existing.get(row["code"]) or Department(code=row["code"])
        existing[row["code"]] = department
        if _administered(department):
            continue
        department.name_zh = row["name"]["zh-CN"]
        department.name_en = row["name"]["en"]
        department.active = True
        db.session.add(department)
    for row in rows:
        parent_code = row.get("parent")
        if parent_code and parent_code not in existing:
            raise DemoDataError(f"department {row['code']}: unknown parent {parent_code}")
        if not _administered(existing[row["code"]]):
            existing[row["code"]].parent = existing[parent_code] if parent_code else None
    return existing


def _administered(row: Department | Role | User) -> bool:
    """Changed by an administrator (in the browser or the API): the file no longer overwrites it.

    The file creates what is missing and repairs what drifted by other means (the command line,
    the database); what an administrator decided stays decided (docs/administration.md)."""
    return row.admin_changed_at is not None


def _upsert_roles(rows: list[dict]) -> dict[str, Role]:
    existing = {r.key: r for r in db.session.scalars(select(Role))}
    for row in rows:
        role = existing.get(row["key"]) or Role(key=row["key"])
        existing[row["key"]] = role
        if _administered(role):
            continue
        role.name_zh = row["name"]["zh-CN"]
        role.name_en = row["name"]["en"]
        role.description = row.get("description")
        existing[row["key"]] = role
        db.session.add(role)
    return existing


def _upsert_users(
    rows: list[dict], departments: dict[str, Department], roles: dict[str, Role], demo_passwords: bool
) -> dict[str, User]:
    by_name = {u.username: u for u in db.session.scalars(select(User))}
    seeded: dict[str, User] = {}
    for row in rows:
        user = by_name.get(row["username"]) or User(username=row["username"])
        if _administered(user):
            by_name[user.username] = seeded[user.username] = user
            continue
        user.display_name = row["name"]
        if row["department"] not in departments:
            raise DemoDataError(f"user {row['username']}: unknown department {row['department']}")
        user.department = departments[row["department"]]
        user.active, user.left_at = True, None
        if demo_passwords:
            user.password_hash = _demo_password_hash()
        db.session.add(user)
        by_name[user.username] = seeded[user.username] = user
    db.session.flush()
    for row in rows:
        user = seeded[row["username"]]
        if _administered(user):
            continue
        manager = row.get("manager")
        if manager and manager not in by_name:
            raise DemoDataError(f"user {row['username']}: unknown manager {manager}")
        user.manager = by_name[manager] if manager else None
        wanted = _wanted_roles(row, departments)
        unknown = {key for key, _ in wanted} - roles.keys()
        if unknown:
            raise DemoDataError(f"user {row['username']}: unknown roles {sorted(unknown)}")
        # The demo users hold exactly the roles in the file (organisation-wide unless a department is named).
        for assignment in list(user.role_assignments):
            if (assignment.role.key, assignment.department_id) not in wanted:
                user.role_assignments.remove(assignment)
        held = {(a.role.key, a.department_id) for a in user.role_assignments}
        for key, department_id in sorted(wanted - held, key=str):
            department = next((d for d in departments.values() if d.id == department_id), None)
            user.role_assignments.append(RoleAssignment(role=roles[key], department=department))
    return seeded


def _wanted_roles(row: dict, departments: dict[str, Department]) -> set[tuple[str, int | None]]:
    """A user's roles in the file: a key (organisation-wide) or ``{role: key, department: CODE}``."""
    wanted: set[tuple[str, int | None]] = set()
    for entry in row.get("roles") or []:
        if isinstance(entry, dict):
            code = entry.get("department")
            if code not in departments:
                raise DemoDataError(
                    f"user {row['username']}: unknown department {code} of role {entry.get('role')}"
                )
            wanted.add((str(entry.get("role")), departments[code].id))
        else:
            wanted.add((str(entry), None))
    return wanted


def seed_demo_org(*, demo_passwords: bool | None = None, path: Path | None = None) -> dict[str, User]:
    """Create or update the demo organisation; running it again changes nothing. Commits.

    ``demo_passwords`` defaults to ``FORMWORK_DEMO``: only then does every demo user get
    the password ``demo-password``. Otherwise users keep whatever password they have, and
    new ones get none, so a production install never has default credentials.
    """
    if demo_passwords is None:
        demo_passwords = bool(current_app.config.get("FORMWORK_DEMO"))
    data = load_demo_data(path)
    with transaction():
        departments = _upsert_departments(data.get("departments") or [])
        roles = _upsert_roles(data.get("roles") or [])
        users = _upsert_users(data.get("users") or [], departments, roles, demo_passwords)
        for row in data.get("departments") or []:
            head = row.get("head")
            if head and head not in users:
                raise DemoDataError(f"department {row['code']}: unknown head {head}")
            if not _administered(departments[row["code"]]):
                departments[row["code"]].head = users[head] if head else None
    return users


demo_cli = click.Group("demo", help="The demo organisation.")


@demo_cli.command("seed")
@click.option(
    "--demo-passwords",
    is_flag=True,
    help=f"Give every demo user the password {DEMO_PASSWORD!r} even outside demo mode.",
)
def seed_command(demo_passwords: bool) -> None:
    """Load the demo organisation (departments, users, roles) from definitions/org/demo.yaml."""
    with_passwords = demo_passwords or bool(current_app.config.get("FORMWORK_DEMO"))
    users = seed_demo_org(demo_passwords=with_passwords)
    click.echo(f"demo organisation ready: {len(users)} users ({', '.join(users)})")

    budget_lines = seed_demo_budgets()
    if budget_lines:
        click.echo(f"demo budgets ready: {len(budget_lines)} line(s) for {budget_lines[0].period}")
    if with_passwords:
        click.echo(f"every demo user's password is: {DEMO_PASSWORD}")
    else:
        click.echo("no passwords were set (not in demo mode); use `formwork users set-password USERNAME`")


@demo_cli.command("generate")
@click.option("--months", default=6, show_default=True, type=click.IntRange(1, 24), help="Months to replay.")
@click.option(
    "--per-month", default=20, show_default=True, type=click.IntRange(1, 2000), help="Expense claims a month."
)
@click.option("--seed", default=7, show_default=True, type=int, help="The same seed gives the same history.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when records exist already.")
def generate_command(months: int, per_month: int, seed: int, if_empty: bool) -> None:
    """Replay months of claims, purchases, decisions and budgets through the real services."""
    if has_history():
        if if_empty:
            click.echo("demo history: records exist already; nothing generated")
            return
        raise click.ClickException("records exist already: the history is for an empty demo database")
    report = generate(months=months, per_month=per_month, seed=seed)
    click.echo(
        f"demo history: {report.claims} claims, {report.purchases} purchase requests, "
        f"{report.decisions} decisions ({report.returned} returned, {report.rejected} rejected), "
        f"{report.open} still open, {report.budget_lines} budget lines"
    )
