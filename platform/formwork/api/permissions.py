"""An administrator asks why a person may (or may not) see a record or a field."""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..input_limits import MAX_ROW_ID
from ..org.models import User
from ..records import access
from ..records.models import Record
from ..workflow.permission_explain import explain
from .blueprint import api_bp
from .spec import ID, Param, component, error, nullable, obj, operation, query_args, reply

ORIGIN = component(
    "PermissionOrigin",
    obj(
        {
            "definition": {"type": "string"},
            "version": {"type": "integer", "minimum": 1},
            "pointer": {"type": "string"},
            "line": nullable({"type": "integer", "minimum": 1}),
            "source": nullable({"type": "string"}),
        }
    ),
)
EXPLANATION = component(
    "PermissionExplanation",
    obj(
        {
            "question": {"type": "string"},
            "answer": {"type": "string"},
            "allowed": {"type": "boolean"},
            "reasons": {
                "type": "array",
                "items": obj(
                    {
                        "message": {"type": "string"},
                        "decisive": {"type": "boolean"},
                        "origin": nullable(ORIGIN),
                    }
                ),
            },
        }
    ),
)


@api_bp.get("/permissions/explain")
@login_required
@operation(
    "Why a person may or may not see a record (and see, mask or write a field of it); for administrators.",
    tag="permissions",
    query={
        "user": Param(
            {"type": "string", "minLength": 1, "maxLength": 80}, "The person's username.", required=True
        ),
        "record": Param({**ID, "maximum": MAX_ROW_ID}, "The record's id.", required=True),
        "field": Param(
            {"type": "string", "minLength": 1, "maxLength": 200},
            "A field path such as payee_account or lines[0].amount.",
        ),
    },
    responses={
        200: reply(EXPLANATION, "The answer and its reasons, each naming where it was written."),
        404: error("Not an administrator, or no such user or record."),
    },
)
def explain_permissions():
    if not access.sees_everything(current_user):
        abort(404)  # as for any path a person may not use: nothing revealed
    args = query_args()
    user = db.session.scalar(select(User).where(User.username == args["user"]))
    record = db.session.get(Record, args["record"])
    if user is None or record is None:
        abort(404, "no such user or record")
    return jsonify(explain(user, record, args.get("field")).as_dict())
