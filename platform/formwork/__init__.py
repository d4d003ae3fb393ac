"""Formwork: forms, approval routes, permissions and KPIs described as versioned definitions."""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import config
from .extensions import csrf, db, login_manager, migrate
from .http_input import CappedRequest, RowIdConverter


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, plugins, then each area's blueprints."""
    app = Flask(
        __name__,
        instance_path=str(config.instance_path()),
        static_folder=str(config.PROJECT_ROOT / "static"),
        static_url_path="/static",
    )
    # Before any blueprint adds a rule: every <int:...> in a URL is a bounded id.
    app.url_map.converters["int"] = RowIdConverter
    app.request_class = CappedRequest
    app.config.from_mapping(config.from_environment())
    if overrides:
        app.config.update(overrides)
    proxies = int(app.config.get("FORMWORK_PROXY_COUNT") or 0)
    if proxies > 0:
        # Only behind that many trusted proxies is X-Forwarded-For the client's address (sign-in throttling).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    # Here, not at the top: importing any part of ``formwork`` must not load the whole application.
    from . import areas, models  # noqa: F401  - models: register every table with the metadata

    areas.register(app)
    return app
