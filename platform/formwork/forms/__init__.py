"""Forms: field types, the compiled form model, state and validation, and the generic renderer."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import forms_bp

    app.register_blueprint(forms_bp)
