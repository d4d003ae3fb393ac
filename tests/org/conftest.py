"""Probe routes for the sign-in and security tests: one of each kind of endpoint they guard."""

from __future__ import annotations

import pytest
from flask import jsonify, request
from flask_login import current_user, login_required

from formwork.org import roles_required


@pytest.fixture
def probes(app):
    """Register small routes under /api/_probe and /_probe (before the first request)."""

    @login_required
    def api_whoami():
        return jsonify({"user": current_user.username, "method": request.method})

    @login_required
    def page_whoami():
        return f"hello {current_user.username}"

    @roles_required("analyst", "administrator")
    def api_analysts():
        return jsonify({"ok": True})

    @roles_required("cfo")
    def page_cfo():
        return "cfo only"

    def api_echo_size():
        return jsonify({"bytes": len(request.get_data())})

    def page_upload():
        return f"{len(request.files)} files"

    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule(
        "/api/_probe/whoami", view_func=api_whoami, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
    )
    app.add_url_rule("/_probe/whoami", view_func=page_whoami, methods=["GET", "POST"])
    app.add_url_rule("/api/_probe/analysts", view_func=api_analysts)
    app.add_url_rule("/_probe/cfo", view_func=page_cfo)
    app.add_url_rule("/api/_probe/echo", view_func=api_echo_size, methods=["POST"])
    app.add_url_rule("/_probe/upload", view_func=page_upload, methods=["POST"])
    app.add_url_rule("/_probe/boom", view_func=boom)
    app.add_url_rule("/api/_probe/boom", view_func=boom)
    return app
