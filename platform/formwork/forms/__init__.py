"""Forms: field types, the compiled form model, state and validation, and the generic renderer."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..definitions.store import FormUnavailable
    from .views import forms_bp, unavailable_response

    app.register_blueprint(forms_bp)
    # A published form that cannot be compiled here (e.g. its plugin is off in safe mode)
    # is a clear 503 wherever it is opened, never a 500.
    app.register_error_handler(FormUnavailable, unavailable_response)
