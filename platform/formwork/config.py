"""Configuration read from environment variables, with safe defaults.

Every setting has a ``FORMWORK_`` environment variable, and this module is the only place that
reads the environment: the rest of the code reads ``app.config``. Every setting is documented
in docs/operations.md ("Settings"). The defaults give a working single-process install: an
SQLite file in the instance folder and a secret key generated on first run and kept there, so
sessions survive a restart without anyone having to invent a key.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from .business_time import DEFAULT_TIMEZONE, zone_named

PROJECT_ROOT = Path(__file__).resolve().parents[2]


# Every demo user's password in demo mode (FORMWORK_DEMO) or after `formwork demo seed
# --demo-passwords`; never given to anyone otherwise.
DEMO_PASSWORD = "demo-password"


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _text(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def plugin_settings(known: set[str]) -> dict[str, str]:
    """Every other ``FORMWORK_*`` variable, as text: settings of plugins (e.g. ``FORMWORK_WEBHOOK_URL``),
    which read them from ``app.config`` like any other setting."""
    return {
        name: value
        for name, value in os.environ.items()
        if name.startswith("FORMWORK_") and name not in known
    }


def instance_path() -> Path:
    return Path(os.environ.get("FORMWORK_INSTANCE_PATH", PROJECT_ROOT / "instance")).resolve()


def _read_key(key_file: Path) -> str | None:
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        return None


def _secret_key(folder: Path) -> str:
    """The configured key, else one generated once and kept in the instance folder.

    Several workers may start at once on a fresh instance. Each writes its candidate to a
    private temporary file (mode 0600) and publishes it with ``os.link``, which fails rather
    than replace a file that exists: the first worker's key wins, and every other worker
    reads that one. A reader never sees a half-written key, because the name only appears
    once the content is complete.
    """
    configured = os.environ.get("FORMWORK_SECRET_KEY")
    if configured:
        return configured
    key_file = folder / "secret_key"
    existing = _read_key(key_file)
    if existing is None:
        folder.mkdir(parents=True, exist_ok=True)
        _publish_key(key_file, secrets.token_urlsafe(48))
        existing = _read_key(key_file)
    if not existing:
        raise RuntimeError(
            f"{key_file} is empty: delete it to have a new key generated, or set FORMWORK_SECRET_KEY"
        )
    return existing


def _publish_key(key_file: Path, key: str) -> None:
    """Create ``key_file`` holding ``key`` unless it exists already (then leave it alone)."""
    fd, temporary = tempfile.mkstemp(prefix=".secret_key.", dir=key_file.parent)  # created with mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, key_file)
        except FileExistsError:
            pass  # another worker published its key first: that one is used
        except OSError:
            # A file system without hard links: exclusive create, same owner-only mode.
            try:
                out = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return
            with os.fdopen(out, "w") as handle:
                handle.write(key)
    finally:
        os.unlink(temporary)


def normalise_database_url(url: str) -> str:
    """Accept the common ``postgres://`` / ``postgresql://`` spellings and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def business_timezone() -> str:
    """``FORMWORK_TIMEZONE``, checked at start-up: a misspelt zone stops the app, not a page later."""
    name = (os.environ.get("FORMWORK_TIMEZONE") or DEFAULT_TIMEZONE).strip()
    zone_named(name)
    return name


def safe_mode() -> bool:
    return _flag("FORMWORK_SAFE_MODE")


def plugin_dirs() -> list[Path]:
    return [
        Path(p)
        for p in os.environ.get("FORMWORK_PLUGIN_DIRS", str(PROJECT_ROOT / "plugins")).split(os.pathsep)
        if p
    ]


def definitions_dir() -> Path:
    return Path(os.environ.get("FORMWORK_DEFINITIONS_DIR", PROJECT_ROOT / "definitions"))


# Connection pool settings of a deployed application: a connection the database dropped (a
# restart, an idle timeout) is noticed when it is taken from the pool, not by a failed request.
ENGINE_OPTIONS: dict = {"pool_pre_ping": True}


def from_environment() -> dict:
    folder = instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("FORMWORK_DATABASE_URL") or f"sqlite:///{folder / 'formwork.db'}"
    zone_name = business_timezone()
    settings = {
        "SECRET_KEY": _secret_key(folder),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": dict(ENGINE_OPTIONS),
        # Demo mode seeds the demo organisation with a shared, printed password.
        # Outside demo mode there are no default credentials at all.
        "FORMWORK_DEMO": _flag("FORMWORK_DEMO"),
        # Safe mode skips every plugin, for recovering from a broken one.
        "FORMWORK_SAFE_MODE": safe_mode(),
        "FORMWORK_PLUGIN_DIRS": plugin_dirs(),
        "FORMWORK_DEFINITIONS_DIR": definitions_dir(),
        "FORMWORK_UPLOAD_DIR": Path(os.environ.get("FORMWORK_UPLOAD_DIR", folder / "uploads")),
        # Per-form print templates (a form's ``print_template`` names a file here).
        "FORMWORK_PRINT_DIR": Path(
            os.environ.get("FORMWORK_PRINT_DIR", PROJECT_ROOT / "definitions" / "print")
        ),
        # Rendering a form's own print template (the sandboxed Jinja step), in seconds.
        "FORMWORK_PRINT_TIMEOUT": _int("FORMWORK_PRINT_TIMEOUT", 10),
        # Laying out one PDF in its child process: wall-clock seconds and address space in MiB.
        # A form's template that breaks either prints with the default voucher instead.
        "FORMWORK_PDF_TIMEOUT": _int("FORMWORK_PDF_TIMEOUT", 10),
        "FORMWORK_PDF_MEMORY_MB": _int("FORMWORK_PDF_MEMORY_MB", 1024),
        # Files sent with an approval decision: largest size, and accepted extensions (comma-separated).
        "FORMWORK_DECISION_MAX_SIZE": _int("FORMWORK_DECISION_MAX_SIZE", 10 * 1024 * 1024),
        "FORMWORK_DECISION_ACCEPT": [
            item.strip().lower()
            for item in os.environ.get("FORMWORK_DECISION_ACCEPT", "").split(",")
            if item.strip()
        ]
        or None,
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
        # Failures from one client address, across every user name, before that address is locked.
        "FORMWORK_LOGIN_MAX_FAILURES_PER_IP": _int("FORMWORK_LOGIN_MAX_FAILURES_PER_IP", 20),
        # Failures older than this are forgotten (and their rows removed).
        "FORMWORK_LOGIN_FAILURE_WINDOW_SECONDS": _int("FORMWORK_LOGIN_FAILURE_WINDOW_SECONDS", 3600),
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (0: trust none).
        "FORMWORK_PROXY_COUNT": _int("FORMWORK_PROXY_COUNT", 0),
        # Uploads no record has claimed are removed by `formwork due run` after this many hours.
        "FORMWORK_UNCLAIMED_UPLOAD_HOURS": _int("FORMWORK_UNCLAIMED_UPLOAD_HOURS", 24),
        # A sign-in lasts at most this many days; then the person signs in again.
        "FORMWORK_SESSION_MAX_DAYS": _int("FORMWORK_SESSION_MAX_DAYS", 30),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("FORMWORK_SECURE_COOKIES"),
        "REMEMBER_COOKIE_SECURE": _flag("FORMWORK_SECURE_COOKIES"),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": os.environ.get("FORMWORK_DEFAULT_LOCALE", "zh_CN"),
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "FORMWORK_PAGE_SIZE": _int("FORMWORK_PAGE_SIZE", 20),
        # Record lists count up to this many ("1,000+" beyond): a count never reads the whole table.
        "FORMWORK_COUNT_CAP": max(1, _int("FORMWORK_COUNT_CAP", 1000)),
        # Most rows in one exported .xlsx workbook (CSV exports are streamed and have no limit).
        "FORMWORK_EXPORT_XLSX_MAX_ROWS": _int("FORMWORK_EXPORT_XLSX_MAX_ROWS", 50_000),
        # Off: nothing is appended to the audit trail (the benchmark's baseline; never in production).
        "FORMWORK_AUDIT_ENABLED": _flag("FORMWORK_AUDIT_ENABLED", True),
        # How often the bell in the header asks for the unread count (seconds).
        "FORMWORK_BELL_REFRESH_SECONDS": max(5, _int("FORMWORK_BELL_REFRESH_SECONDS", 30)),
        "FORMWORK_KPI_ALERT_RECHECK_MINUTES": max(1, _int("FORMWORK_KPI_ALERT_RECHECK_MINUTES", 60)),
        # A submitter may remind (催办) the current approver of a request at most once in this many seconds.
        "FORMWORK_REMIND_INTERVAL_SECONDS": _int("FORMWORK_REMIND_INTERVAL_SECONDS", 3600),
        # E-mail is on when a host is set; with none, nothing is enqueued for e-mail.
        "FORMWORK_SMTP_HOST": _text("FORMWORK_SMTP_HOST"),
        "FORMWORK_SMTP_PORT": _int("FORMWORK_SMTP_PORT", 25),
        "FORMWORK_SMTP_USER": _text("FORMWORK_SMTP_USER"),
        "FORMWORK_SMTP_PASSWORD": _text("FORMWORK_SMTP_PASSWORD"),
        "FORMWORK_SMTP_STARTTLS": _flag("FORMWORK_SMTP_STARTTLS"),
        "FORMWORK_SMTP_SSL": _flag("FORMWORK_SMTP_SSL"),
        "FORMWORK_SMTP_FROM": _text("FORMWORK_SMTP_FROM", "formwork@localhost"),
        "FORMWORK_SMTP_TIMEOUT": _float("FORMWORK_SMTP_TIMEOUT", 10),
        # Links in messages: https://formwork.example.com -> .../records/12
        "FORMWORK_BASE_URL": _text("FORMWORK_BASE_URL"),
        "FORMWORK_OUTBOX_MAX_ATTEMPTS": _int("FORMWORK_OUTBOX_MAX_ATTEMPTS", 10),
        "FORMWORK_OUTBOX_RETRY_SECONDS": _int("FORMWORK_OUTBOX_RETRY_SECONDS", 60),
        "FORMWORK_OUTBOX_RETRY_MAX_SECONDS": _int("FORMWORK_OUTBOX_RETRY_MAX_SECONDS", 6 * 3600),
        "FORMWORK_OUTBOX_LEASE_SECONDS": _int("FORMWORK_OUTBOX_LEASE_SECONDS", 300),
        # The business time zone: pages, dates in forms, $today/$now, out-of-office days and
        # deadlines are in this zone; everything is stored (and the API answers) in UTC.
        "FORMWORK_TIMEZONE": zone_name,
        # Flask-Babel's own date helpers (to_user_timezone, format_datetime) use the same zone.
        "BABEL_DEFAULT_TIMEZONE": zone_name,
    }
    # Read above under another name, or only before the application exists.
    read_elsewhere = {
        "FORMWORK_INSTANCE_PATH",
        "FORMWORK_SECRET_KEY",
        "FORMWORK_DATABASE_URL",
        "FORMWORK_MAX_REQUEST_BYTES",
        "FORMWORK_MAX_FORM_MEMORY_BYTES",
        "FORMWORK_MAX_FORM_PARTS",
        "FORMWORK_SECURE_COOKIES",
        "FORMWORK_DEFAULT_LOCALE",
    }
    return {**plugin_settings(set(settings) | read_elsewhere), **settings}
