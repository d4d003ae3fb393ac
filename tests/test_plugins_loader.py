"""The plugin loader: each kind of broken plugin is reported and skipped, the rest load; safe mode loads none;
``formwork plugins list`` and the administrators' notice show it."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import formwork.plugins as plugins
from formwork import create_app
from formwork.plugins import ENTRY_POINT_GROUP
from formwork.wiring import build_registry

GOOD = """
from formwork.expressions import FunctionSpec, T

def load(registry):
    registry.add_function(FunctionSpec("{name}", (T.TEXT,), T.TEXT, lambda text: text.upper()))
"""


def _plugin(folder: Path, name: str, source: str) -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text(source, encoding="utf-8")


@pytest.fixture
def plugin_dir(tmp_path) -> Path:
    folder = tmp_path / "plugins"
    _plugin(folder, "a_good", GOOD.format(name="shout"))
    _plugin(folder, "b_import_raises", "raise RuntimeError('cannot start: no licence file')\n")
    _plugin(folder, "c_no_load", "VALUE = 1\n")
    _plugin(
        folder,
        "d_load_raises",
        GOOD.format(name="half_done").replace(
            "lambda text: text.upper()))", "lambda text: text.upper()))\n    raise ValueError('bad settings')"
        ),
    )
    _plugin(folder, "e_good_too", GOOD.format(name="whisper"))
    (folder / "not_a_plugin").mkdir()  # no __init__.py: not looked at
    yield folder
    for name in list(sys.modules):
        if name.startswith("formwork_plugin_"):
            sys.modules.pop(name)


@pytest.fixture
def no_entry_points(monkeypatch):
    monkeypatch.setattr(plugins, "entry_points", lambda group: [])


def _failures(registry) -> dict[str, str]:
    return dict(registry.failed)


def test_folder_plugins_each_failure_is_reported_and_skipped(plugin_dir, no_entry_points, caplog):
    registry = build_registry([plugin_dir], safe_mode=False)
    assert registry.loaded == ["a_good", "e_good_too"]
    assert {"shout", "whisper"} <= set(registry.functions)
    failures = _failures(registry)
    assert set(failures) == {"b_import_raises", "c_no_load", "d_load_raises"}
    assert failures["b_import_raises"] == "RuntimeError: cannot start: no licence file"
    assert failures["c_no_load"] == "has no load(registry) function"
    assert failures["d_load_raises"] == "ValueError: bad settings"
    # A plugin whose load() failed half-way leaves nothing behind.
    assert "half_done" not in registry.functions
    # Where each came from and what it adds.
    info = {p.name: p for p in registry.plugins}
    assert info["a_good"].source == f"folder {plugin_dir / 'a_good'}"
    assert info["a_good"].adds == [("function", "shout")]
    assert info["d_load_raises"].adds == [] and not info["d_load_raises"].loaded
    # Each failure is one line in the log.
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("b_import_raises" in line and "no licence file" in line for line in logged)
    assert len([line for line in logged if "failed to load" in line]) == 3


class _Module(types.ModuleType):
    pass


@pytest.fixture
def entry_point_modules(monkeypatch):
    good = _Module("fw_ep_good")
    exec(GOOD.format(name="ep_shout"), good.__dict__)
    raising = _Module("fw_ep_raising")

    def load(registry):
        raise KeyError("missing setting")

    raising.load = load
    monkeypatch.setitem(sys.modules, "fw_ep_good", good)
    monkeypatch.setitem(sys.modules, "fw_ep_raising", raising)
    points = [
        EntryPoint("ep_good", "fw_ep_good:load", ENTRY_POINT_GROUP),
        EntryPoint("ep_import_fails", "fw_ep_not_installed:load", ENTRY_POINT_GROUP),
        EntryPoint("ep_load_raises", "fw_ep_raising:load", ENTRY_POINT_GROUP),
        EntryPoint("ep_not_callable", "fw_ep_good:GOOD_TEXT", ENTRY_POINT_GROUP),
    ]
    good.GOOD_TEXT = "not a function"

    def fake_entry_points(*, group):
        assert group == ENTRY_POINT_GROUP
        return points

    monkeypatch.setattr(plugins, "entry_points", fake_entry_points)


def test_entry_point_plugins(entry_point_modules, tmp_path):
    registry = build_registry([tmp_path / "no-such-folder"], safe_mode=False)
    assert registry.loaded == ["ep_good"]
    assert "ep_shout" in registry.functions
    failures = _failures(registry)
    assert set(failures) == {"ep_import_fails", "ep_load_raises", "ep_not_callable"}
    assert failures["ep_import_fails"].startswith("ModuleNotFoundError")
    assert failures["ep_load_raises"] == "KeyError: 'missing setting'"
    assert failures["ep_not_callable"] == "the entry point is not a function"
    assert {p.name: p.source for p in registry.plugins}["ep_good"] == "entry point fw_ep_good:load"


def test_safe_mode_loads_none(plugin_dir, entry_point_modules):
    registry = build_registry([plugin_dir], safe_mode=True)
    assert registry.safe_mode
    assert registry.loaded == [] and registry.failed == [] and registry.plugins == []
    assert not {"shout", "whisper", "ep_shout"} & set(registry.functions)
    assert "sum" in registry.functions  # the built-ins are still there


def _app(tmp_path, plugin_dir, **config):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "FORMWORK_PLUGIN_DIRS": [plugin_dir],
            **config,
        }
    )


def test_plugins_list_command(tmp_path, monkeypatch, plugin_dir, no_entry_points):
    monkeypatch.setenv("FORMWORK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = _app(tmp_path, plugin_dir)
    result = app.test_cli_runner().invoke(args=["plugins", "list"])
    assert result.exit_code == 1  # a plugin failed: a deploy check notices
    lines = result.output.splitlines()
    assert lines[0] == "safe mode: off"
    assert f"loaded  a_good  (folder {plugin_dir / 'a_good'})  adds: function shout" in lines
    assert any(line.startswith("FAILED  b_import_raises") and "no licence file" in line for line in lines)
    assert any(
        line.startswith("FAILED  c_no_load") and "has no load(registry) function" in line for line in lines
    )
    assert lines[-1] == "2 loaded, 3 failed"

    safe = _app(tmp_path, plugin_dir, FORMWORK_SAFE_MODE=True)
    result = safe.test_cli_runner().invoke(args=["plugins", "list"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "safe mode: on (no plugin is loaded)"
    assert "no plugins loaded" in result.output


def test_administrators_see_failed_plugins_on_the_home_page(
    app, client, demo_org, login, tmp_path, plugin_dir, no_entry_points
):
    app.extensions["formwork.plugins"] = build_registry([plugin_dir], safe_mode=False)
    login(client, "admin")
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Plugins that failed to load" in page
    assert "b_import_raises" in page and "no licence file" in page
    other = app.test_client()
    login(other, "alice")
    assert "Plugins that failed to load" not in other.get("/", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
