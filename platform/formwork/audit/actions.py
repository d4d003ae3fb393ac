"""The audited actions, by name: ``<object>.<what happened>``.

The search page offers these (an entry written under another name is still found by it).
"""

from __future__ import annotations

SIGN_IN = "session.sign_in"
SIGN_IN_FAILED = "session.sign_in_failed"
SIGN_OUT = "session.sign_out"
TOKEN_CREATE = "token.create"
TOKEN_REVOKE = "token.revoke"
USER_CREATE = "user.create"
USER_LEAVE = "user.leave"
USER_SET_PASSWORD = "user.set_password"
ROLE_GRANT = "role.grant"
ROLE_REVOKE = "role.revoke"
DEFINITION_PUBLISH = "definition.publish"
RECORD_CREATE = "record.create"
RECORD_CHANGE = "record.change"
TASK_DECIDE = "task.decide"
RECORDS_EXPORT = "records.export"
DOCUMENT_PRINT = "document.print"
AUDIT_EXPORT = "audit.export"

ALL = (
    SIGN_IN,
    SIGN_IN_FAILED,
    SIGN_OUT,
    TOKEN_CREATE,
    TOKEN_REVOKE,
    USER_CREATE,
    USER_LEAVE,
    USER_SET_PASSWORD,
    ROLE_GRANT,
    ROLE_REVOKE,
    DEFINITION_PUBLISH,
    RECORD_CREATE,
    RECORD_CHANGE,
    TASK_DECIDE,
    RECORDS_EXPORT,
    DOCUMENT_PRINT,
    AUDIT_EXPORT,
)
