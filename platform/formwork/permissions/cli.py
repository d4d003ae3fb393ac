"""``formwork permissions explain USER RECORD [FIELD]``: why a person may or may not see a record or field."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..forms.catalogue import FormUnavailable
from ..input_limits import row_id
from ..org.models import User
from ..records.models import Record
from ..workflow.permission_explain import explain

permissions_cli = click.Group("permissions", help="Permission definitions: explain who may see and do what.")


@permissions_cli.command("explain")
@click.argument("username")
@click.argument("record")
@click.argument("field", required=False)
@click.option(
    "--json", "as_json", is_flag=True, help="Answer as JSON (question, answer, reasons with origins)."
)
@with_appcontext
def explain_command(username: str, record: str, field: str | None, as_json: bool) -> None:
    """Which grant, scope and rule let USERNAME see RECORD (and see, mask or write FIELD), or why not.

    Each reason names the permission definition, its version, the JSON pointer and the line."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    record_id = row_id(record)
    found = db.session.get(Record, record_id) if record_id is not None else None
    if found is None:
        raise click.ClickException(f"no record {record!r}")
    try:
        answer = explain(user, found, field)
    except FormUnavailable as exc:
        raise click.ClickException(exc.message()) from exc
    click.echo(json.dumps(answer.as_dict(), ensure_ascii=False, indent=2) if as_json else answer.text())
