"""Configuration read from environment variables, with safe defaults.

Every setting has a ``FORMWORK_`` environment variable. The defaults give a
working single-process install: an SQLite file in the instance folder and a
secret key generated on first run and kept there, so sessions survive a
restart without anyone having to invent a key.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def instance_path() -> Path:
    return Path(os.environ.get("FORMWORK_INSTANCE_PATH", PROJECT_ROOT / "instance")).resolve()


def _secret_key(folder: Path) -> str:
    """The configured key, else one generated once and kept in the instance folder."""
    configured = os.environ.get("FORMWORK_SECRET_KEY")
    if configured:
        return configured
    key_file = folder / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Create with owner-only permissions; never widen an existing file.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def normalise_database_url(url: str) -> str:
    """Accept the common ``postgres://`` / ``postgresql://`` spellings and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def from_environment() -> dict:
    folder = instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("FORMWORK_DATABASE_URL") or f"sqlite:///{folder / 'formwork.db'}"
    return {
        "SECRET_KEY": _secret_key(folder),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Demo mode seeds the demo organisation with a shared, printed password.
        # Outside demo mode there are no default credentials at all.
        "FORMWORK_DEMO": _flag("FORMWORK_DEMO"),
        # Safe mode skips every plugin, for recovering from a broken one.
        "FORMWORK_SAFE_MODE": _flag("FORMWORK_SAFE_MODE"),
        "FORMWORK_PLUGIN_DIRS": [
            Path(p) for p in os.environ.get("FORMWORK_PLUGIN_DIRS", str(PROJECT_ROOT / "plugins")).split(os.pathsep) if p
        ],
        "FORMWORK_DEFINITIONS_DIR": Path(os.environ.get("FORMWORK_DEFINITIONS_DIR", PROJECT_ROOT / "definitions")),
        "FORMWORK_UPLOAD_DIR": Path(os.environ.get("FORMWORK_UPLOAD_DIR", folder / "uploads")),
        # Per-form print templates (a form's ``print_template`` names a file here).
        "FORMWORK_PRINT_DIR": Path(os.environ.get("FORMWORK_PRINT_DIR", PROJECT_ROOT / "definitions" / "print")),
        # Whole-request cap; each attachment field has its own, smaller limit.
        "MAX_CONTENT_LENGTH": _int("FORMWORK_MAX_REQUEST_BYTES", 25 * 1024 * 1024),
        "MAX_FORM_MEMORY_SIZE": _int("FORMWORK_MAX_FORM_MEMORY_BYTES", 2 * 1024 * 1024),
        # Bodies that are not multipart (urlencoded form posts, JSON) are read and parsed whole,
        # so they get a much smaller cap than uploads; MAX_FORM_MEMORY_SIZE covers multipart only.
        "FORMWORK_MAX_BODY_BYTES": _int("FORMWORK_MAX_BODY_BYTES", 2 * 1024 * 1024),
        # Multipart parts per request: a form page with many line-item rows posts many small fields.
        "MAX_FORM_PARTS": _int("FORMWORK_MAX_FORM_PARTS", 20_000),
        "FORMWORK_LOGIN_MAX_FAILURES": _int("FORMWORK_LOGIN_MAX_FAILURES", 5),
        "FORMWORK_LOGIN_LOCK_SECONDS": _int("FORMWORK_LOGIN_LOCK_SECONDS", 300),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("FORMWORK_SECURE_COOKIES"),
        "REMEMBER_COOKIE_SECURE": _flag("FORMWORK_SECURE_COOKIES"),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": os.environ.get("FORMWORK_DEFAULT_LOCALE", "zh_CN"),
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "FORMWORK_PAGE_SIZE": _int("FORMWORK_PAGE_SIZE", 20),
    }
        # Files sent with an approval decision: largest size, and accepted extensions (comma-separated).
        "FORMWORK_DECISION_MAX_SIZE": _int("FORMWORK_DECISION_MAX_SIZE", 10 * 1024 * 1024),
        "FORMWORK_DECISION_ACCEPT": [
            item.strip().lower() for item in os.environ.get("FORMWORK_DECISION_ACCEPT", "").split(",") if item.strip()
        ] or None,
