"""The audited actions, by name: ``<object>.<what happened>``.

The search page offers these (an entry written under another name is still found by it).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SIGN_IN = "session.sign_in"
SIGN_IN_FAILED = "session.sign_in_failed"
SIGN_OUT = "session.sign_out"
TOKEN_CREATE = "token.create"
TOKEN_REVOKE = "token.revoke"
USER_CREATE = "user.create"
USER_LEAVE = "user.leave"
USER_SET_PASSWORD = "user.set_password"
USER_CHANGE = "user.change"
DEPARTMENT_CREATE = "department.create"
DEPARTMENT_CHANGE = "department.change"
ORG_IMPORT = "org.import"
ORG_EXPORT = "org.export"
ROLE_GRANT = "role.grant"
ROLE_REVOKE = "role.revoke"
DEFINITION_PUBLISH = "definition.publish"
RECORD_CREATE = "record.create"
RECORD_CHANGE = "record.change"
TASK_DECIDE = "task.decide"
RECORDS_EXPORT = "records.export"
DOCUMENT_PRINT = "document.print"
AUDIT_EXPORT = "audit.export"
PERMISSION_REVIEW_EXPORT = "permission_review.export"

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
    USER_CHANGE,
    DEPARTMENT_CREATE,
    DEPARTMENT_CHANGE,
    ORG_IMPORT,
    ORG_EXPORT,
    PERMISSION_REVIEW_EXPORT,
)

LABELS = {
    SIGN_IN: _l("Signed in"),
    SIGN_IN_FAILED: _l("Sign-in refused"),
    SIGN_OUT: _l("Signed out"),
    TOKEN_CREATE: _l("API token created"),
    TOKEN_REVOKE: _l("API token revoked"),
    USER_CREATE: _l("User created"),
    USER_LEAVE: _l("User left"),
    USER_SET_PASSWORD: _l("Password set"),
    ROLE_GRANT: _l("Role granted"),
    ROLE_REVOKE: _l("Role revoked"),
    DEFINITION_PUBLISH: _l("Definition published"),
    RECORD_CREATE: _l("Record created"),
    RECORD_CHANGE: _l("Record changed"),
    TASK_DECIDE: _l("Decision"),
    RECORDS_EXPORT: _l("Records exported"),
    DOCUMENT_PRINT: _l("Document printed"),
    AUDIT_EXPORT: _l("Audit trail exported"),
    USER_CHANGE: _l("User changed"),
    DEPARTMENT_CREATE: _l("Department created"),
    DEPARTMENT_CHANGE: _l("Department changed"),
    ORG_IMPORT: _l("Organisation imported"),
    ORG_EXPORT: _l("Organisation exported"),
    PERMISSION_REVIEW_EXPORT: _l("Permission review exported"),
}
