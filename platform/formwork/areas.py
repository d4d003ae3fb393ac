"""Each area's pages, API routes and commands, registered with the application.

The areas themselves never import their pages or commands: a package is imported for its
models and services (by the workflow, the API, a test) without loading what sits above it.
This module, at the top of the house beside ``create_app``, is where they come together.
"""

from __future__ import annotations

from flask import Flask

from . import demo, i18n, plugins, web, wiring
from .api import api_bp
from .audit.cli import audit_cli
from .audit.views import audit_bp
from .budgets.cli import budgets_cli
from .dashboards.views import dashboards_bp
from .definitions.cli import definitions_cli
from .documents.cli import print_cli
from .documents.views import documents_bp
from .extensions import db
from .forms import limit_body_size
from .forms.catalogue import FormUnavailable
from .forms.views import forms_bp, unavailable_response
from .kpis.views import kpis_bp
from .notifications.cli import outbox_cli
from .notifications.views import notifications_bp, unread_notifications
from .org import auth, errors, people, security
from .org.admin_views import admin_bp
from .org.cli import tokens_cli, users_cli
from .org.import_views import import_bp
from .permissions.cli import permissions_cli
from .permissions.review_views import review_bp
from .plugins.cli import plugins_cli
from .records.cli import attachments_cli, projections_cli
from .records.views import records_bp
from .workflow import views as workflow_views
from .workflow.cli import due_cli


def register(app: Flask) -> None:
    """Extensions of the platform first (plugins, definition kinds), then every area."""
    i18n.init_app(app)
    plugins.init_app(app, wiring.BUILTINS)
    wiring.register_definition_kinds()
    wiring.register_record_participation()
    wiring.register_org_changes()
    wiring.register_projected_paths()
    wiring.wire_read_policy()
    with app.app_context():  # the engine is the app's; SQLite connections need the SQL functions
        wiring.register_permission_filters(db.engine)

    security.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    app.register_blueprint(people.people_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(import_bp)

    app.register_blueprint(records_bp)
    app.register_blueprint(kpis_bp)
    app.register_blueprint(dashboards_bp)
    workflow_views.init_app(app)
    app.register_blueprint(notifications_bp)
    app.jinja_env.globals["unread_notifications"] = unread_notifications
    app.register_blueprint(documents_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(review_bp)

    app.register_blueprint(forms_bp)
    # A published form that cannot be compiled here (e.g. its plugin is off in safe mode)
    # is a clear 503 wherever it is opened, never a 500.
    app.register_error_handler(FormUnavailable, unavailable_response)
    # First of all request hooks: the body limit must be set before the CSRF check reads the form.
    app.before_request_funcs.setdefault(None, []).insert(0, limit_body_size)

    app.register_blueprint(api_bp)
    web.init_app(app)

    for command in (
        plugins_cli,
        users_cli,
        tokens_cli,
        definitions_cli,
        permissions_cli,
        attachments_cli,
        projections_cli,
        due_cli,
        budgets_cli,
        outbox_cli,
        print_cli,
        audit_cli,
        demo.demo_cli,
    ):
        app.cli.add_command(command)
