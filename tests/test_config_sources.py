"""Configuration is read in one place (``formwork.config``) and every setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

import formwork
from formwork import config, create_app

PACKAGE = Path(formwork.__file__).parent
CONFIG = PACKAGE / "config.py"
OPERATIONS = config.PROJECT_ROOT / "docs" / "operations.md"
READS_ENVIRONMENT = re.compile(
    r"\bos\.(environ|getenv|putenv)\b|\bfrom\s+os\s+import\b[^\n]*\b(environ|getenv)\b"
)
SETTING = re.compile(r"FORMWORK_[A-Z0-9_]*[A-Z0-9]")


def _settings_read_by_config() -> set[str]:
    return set(re.findall(r"[\"'](FORMWORK_[A-Z0-9_]+)[\"']", CONFIG.read_text(encoding="utf-8")))


def _settings_section() -> str:
    text = OPERATIONS.read_text(encoding="utf-8")
    start = text.index("\n## Settings\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_only_the_config_module_reads_the_environment():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != CONFIG
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if READS_ENVIRONMENT.search(line)
    ]
    assert offenders == [], "read settings from app.config; only formwork/config.py reads os.environ"


def test_every_setting_is_documented_in_operations():
    section = re.sub(r"FORMWORK_[A-Z0-9_]*\*", "", _settings_section())  # families such as FORMWORK_WEBHOOK_*
    documented = set(SETTING.findall(section))
    read = _settings_read_by_config()
    assert read, "no settings found in config.py"
    assert sorted(read - documented) == [], "settings missing from docs/operations.md (## Settings)"
    assert sorted(documented - read) == [], "documented settings that config.py does not read"


def test_mail_and_outbox_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FORMWORK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("FORMWORK_SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("FORMWORK_SMTP_PORT", "587")
    monkeypatch.setenv("FORMWORK_SMTP_STARTTLS", "yes")
    monkeypatch.setenv("FORMWORK_OUTBOX_MAX_ATTEMPTS", "3")
    settings = config.from_environment()
    assert settings["FORMWORK_SMTP_HOST"] == "mail.example.com"
    assert settings["FORMWORK_SMTP_PORT"] == 587
    assert settings["FORMWORK_SMTP_STARTTLS"] is True
    assert settings["FORMWORK_OUTBOX_MAX_ATTEMPTS"] == 3
    assert settings["FORMWORK_SMTP_TIMEOUT"] == 10.0


def test_a_plugin_reads_its_own_settings_from_the_app_config(tmp_path, monkeypatch):
    monkeypatch.setenv("FORMWORK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("FORMWORK_WEBHOOK_URL", "https://robot.example.com/hook")
    monkeypatch.setenv("FORMWORK_SECRET_KEY", "from-the-environment")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.db'}"})
    assert app.config["FORMWORK_WEBHOOK_URL"] == "https://robot.example.com/hook"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert "FORMWORK_SECRET_KEY" not in app.config  # read as SECRET_KEY, not copied as a plugin setting
