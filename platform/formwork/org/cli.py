"""``formwork users ...`` and ``formwork tokens ...``: managing people and API tokens."""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy import select

from .. import business_time
from ..extensions import db, transaction
from . import administration, grants, onboarding, tokens, users
from .models import Department, User


def _user_or_fail(username: str) -> User:
    user = users.user_by_username(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        users.check_password_strength(password)
    except users.OrgError as exc:
        raise click.ClickException(str(exc)) from exc
    return password


users_cli = click.Group("users", help="Create users, set passwords, record leavers.")
tokens_cli = click.Group("tokens", help="Create, list and revoke API bearer tokens.")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option("--department", "department_code", help="Department code, e.g. SALES.")
@click.option("--manager", "manager_username", help="User name of the manager.")
@click.option("--role", "role_keys", multiple=True, help="Role key; repeat for several.")
@click.option("--email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
@click.option("--no-password", is_flag=True, help="Create the user without a password (cannot sign in yet).")
def create_user_command(
    username, display_name, department_code, manager_username, role_keys, email, password_stdin, no_password
) -> None:
    """Add a user."""
    password = None if no_password else _read_password(password_stdin)
    try:
        with transaction():
            user = users.create_user(
                username,
                display_name=display_name,
                department_code=department_code,
                manager_username=manager_username,
                role_keys=role_keys,
                password=password,
                email=email,
            )
    except users.OrgError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created user {user.username} (id {user.id})")


@users_cli.command("set-password")
@click.argument("username")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
def set_password_command(username: str, password_stdin: bool) -> None:
    """Set a user's password."""
    user = _user_or_fail(username)
    users.set_password(user, _read_password(password_stdin))
    db.session.commit()
    click.echo(f"password set for {user.username}")


@users_cli.command("leave")
@click.argument("username")
def leave_command(username: str) -> None:
    """Record that a user has left: sign-in, sessions and tokens stop working at once."""
    user = _user_or_fail(username)
    revoked = users.leave(user)
    db.session.commit()
    click.echo(f"{user.username} has left; {revoked} token(s) revoked")


def _department_or_fail(code: str | None) -> Department | None:
    if code is None:
        return None
    found = db.session.scalar(select(Department).where(Department.code == code))
    if found is None:
        raise click.ClickException(f"no department {code!r}")
    return found


@users_cli.command("grant")
@click.argument("username")
@click.argument("role")
@click.option("--department", "department_code", help="Limit the role to this department (its code).")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="The last day the role holds.")
@click.option("--reason", help="Why the role is granted (kept with the grant).")
@click.option("--override-reason", help="Grant despite a segregation-of-duties conflict, and why.")
def grant_command(
    username: str,
    role: str,
    department_code: str | None,
    until: Any,
    reason: str | None,
    override_reason: str | None,
) -> None:
    """Give a user a role, optionally limited to a department and until a date."""
    user = _user_or_fail(username)
    department = _department_or_fail(department_code)
    try:
        assignment = users.grant_role(
            user,
            role,
            department,
            until=until.date() if until else None,
            reason=reason,
            override_reason=override_reason,
        )
    except (users.OrgError, grants.GrantRefused, ValueError, LookupError) as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    ends = business_time.text(assignment.expires_at) if assignment.expires_at else "until revoked"
    click.echo(f"{user.username} holds {role}{' for ' + department_code if department_code else ''} ({ends})")


@users_cli.command("revoke")
@click.argument("username")
@click.argument("role")
@click.option("--department", "department_code", help="The department the grant is limited to.")
def revoke_command(username: str, role: str, department_code: str | None) -> None:
    """Take a role back from a user."""
    user = _user_or_fail(username)
    if not users.revoke_role(user, role, _department_or_fail(department_code)):
        raise click.ClickException(f"{user.username} does not hold {role}")
    db.session.commit()
    click.echo(f"{role} taken back from {user.username}")


@users_cli.command("list")
def list_users_command() -> None:
    """List users with department, manager, roles and status."""

    for user in db.session.scalars(select(User).order_by(User.username)):
        department = user.department.code if user.department else "-"
        manager = user.manager.username if user.manager else "-"
        roles = ",".join(sorted(user.role_keys())) or "-"
        status = "active" if user.active else "left"
        click.echo(f"{user.username}\t{user.display_name}\t{department}\t{manager}\t{roles}\t{status}")


def _actor(username: str | None) -> User | None:
    """The administrator an import or export is done as (their reach applies, the trail names
    them); none: the whole organisation, as the system."""
    if username is None:
        return None
    user = _user_or_fail(username)
    try:
        administration.scope(user)
    except administration.OutOfScope as exc:
        raise click.ClickException(f"{user.username} administers nothing") from exc
    return user


@users_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only check: list what would change and every problem.")
@click.option("--as", "as_user", help="Import as this administrator (their scope applies).")
def import_command(path: str, dry_run: bool, as_user: str | None) -> None:
    """Import departments, people, managers and role grants from .xlsx, .csv or a .zip of .csv.

    All or nothing: a file with any problem writes nothing (exit 1, each problem on a line)."""
    with open(path, "rb") as handle:
        data = handle.read()
    actor = _actor(as_user)
    name = path.rsplit("/", 1)[-1]
    try:
        with transaction():
            plan = onboarding.preview(actor, data, name) if dry_run else onboarding.apply(actor, data, name)
    except onboarding.FileRefused as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in plan.problems:
        click.echo(f"{problem.section}, line {problem.line}, {problem.column}: {problem.message}", err=True)
    for change in plan.changed():
        fields = "; ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in change.fields.items())
        click.echo(f"{change.action}\t{change.section}\tline {change.line}\t{change.key}\t{fields}".rstrip())
    counts = plan.counts()
    summary = ", ".join(
        f"{section}: {c['create']} new, {c['update']} changed, {c['unchanged']} unchanged"
        for section, c in counts.items()
    )
    if not plan.ok:
        raise click.ClickException(f"{len(plan.problems)} problem(s); nothing was imported")
    click.echo(("would import: " if dry_run else "imported: ") + summary)


@users_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--as", "as_user", help="Export what this administrator administers.")
def export_command(path: str, fmt: str, as_user: str | None) -> None:
    """Write departments, people and role grants to an .xlsx workbook or a .zip of .csv files."""
    with transaction():
        found = onboarding.export(_actor(as_user), fmt)
    with open(path, "wb") as handle:
        handle.write(found.data)
    click.echo(f"wrote {path}")


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--days", type=click.IntRange(min=1), help="Expire after this many days (default: never).")
def create_token_command(username: str, name: str, days: int | None) -> None:
    """Create a token and print it once (it cannot be shown again)."""
    user = _user_or_fail(username)
    if not user.active:
        raise click.ClickException(f"{user.username} has left; no tokens for leavers")
    click.echo(tokens.create_token(user, name, days))


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_token_command(token_id: int) -> None:
    """Revoke a token by its id (see ``tokens list``)."""
    if tokens.revoke_token(token_id) is None:
        raise click.ClickException(f"no token with id {token_id}")
    click.echo(f"token {token_id} revoked")


@tokens_cli.command("list")
@click.argument("username")
def list_tokens_command(username: str) -> None:
    """List a user's tokens (never the secrets)."""
    user = _user_or_fail(username)
    for token in tokens.list_tokens(user):
        state = "revoked" if token.revoked_at else ("live" if tokens.token_is_live(token) else "expired")
        expires = business_time.text(token.expires_at) if token.expires_at else "never"
        used = business_time.text(token.last_used_at) if token.last_used_at else "never"
        click.echo(f"{token.id}\t{token.name}\t{state}\texpires {expires}\tlast used {used}")
