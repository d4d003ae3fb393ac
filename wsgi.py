"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""

import sys
from pathlib import Path

# platform/ is a source root, not a package; make it importable when not installed.
_SOURCE_ROOT = str(Path(__file__).resolve().parent / "platform")
if _SOURCE_ROOT not in sys.path:
    sys.path.insert(0, _SOURCE_ROOT)

from formwork import create_app  # noqa: E402

app = create_app()
