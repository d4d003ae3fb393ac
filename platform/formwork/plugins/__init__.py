"""Plugins: extension points (expression functions, field types, notification channels) and the loader.

A plugin is a folder under ``plugins/`` (or a configured plugin directory) with an
``__init__.py`` defining ``load(registry)``, or an installed package exposing the
same function through the ``formwork.plugins`` entry-point group. A plugin that
fails to load is reported and skipped; ``FORMWORK_SAFE_MODE=1`` loads none.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import traceback
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Iterable

from flask import Flask, current_app

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "formwork.plugins"


class PluginError(Exception):
    """A plugin tried to register something invalid or already taken."""


@dataclass
class PluginInfo:
    """One plugin found: where it came from, whether it loaded, what it added or why it failed."""

    name: str
    source: str  # "folder /path/to/plugins/x" or "entry point module:attr (distribution 1.0)"
    loaded: bool = False
    error: str | None = None
    adds: list[tuple[str, str]] = field(default_factory=list)  # (what, name): ("function", "cn_amount")


@dataclass
class PluginRegistry:
    functions: dict[str, Any] = field(default_factory=dict)
    field_types: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    plugins: list[PluginInfo] = field(default_factory=list)  # every plugin found, in loading order
    safe_mode: bool = False
    plugin_dirs: list[Path] = field(default_factory=list)
    _builtins: set[tuple[str, str]] = field(default_factory=set)
    _current_plugin: str | None = None
    _current_adds: list[tuple[str, str]] = field(default_factory=list)

    def add_function(self, spec: Any) -> None:
        """Register an expression function (a ``formwork.expressions.FunctionSpec``)."""
        self._add("function", self.functions, spec.name, spec)

    def add_field_type(self, field_type: Any) -> None:
        """Register a form field type (a ``formwork.forms.field_types.FieldType``)."""
        self._add("field type", self.field_types, field_type.name, field_type)

    def add_channel(self, channel: Any) -> None:
        """Register a notification channel (a ``formwork.notifications.channels.Channel``)."""
        self._add("channel", self.channels, channel.name, channel)

    def add_fact_provider(self, provider: Any) -> None:
        """Register a route fact (a ``routes.facts.FactProvider``), read as ``$name`` in conditions."""
        self._add("fact provider", self.facts, provider.name, provider)

    def _add(self, what: str, table: dict[str, Any], name: str, value: Any) -> None:
        if name in table:
            owner = "a built-in" if (what, name) in self._builtins else "another plugin"
            raise PluginError(f"{what} {name!r} is already registered by {owner}")
        table[name] = value
        if self._current_plugin is None:
            self._builtins.add((what, name))
        else:
            self._current_adds.append((what, name))

    def load_plugin(self, name: str, load: Callable[["PluginRegistry"], None], source: str = "") -> bool:
        """Run one plugin's ``load``; on failure undo its registrations and record why."""
        snapshot = (dict(self.functions), dict(self.field_types), dict(self.channels), dict(self.facts))
        self._current_plugin, self._current_adds = name, []
        try:
            load(self)
        except Exception as exc:  # a broken plugin must never take the platform down
            self.functions, self.field_types, self.channels, self.facts = snapshot
            self.record_failure(name, source, _one_line(exc))
            return False
        finally:
            self._current_plugin = None
        self.loaded.append(name)
        self.plugins.append(PluginInfo(name, source, loaded=True, adds=list(self._current_adds)))
        return True

    def record_failure(self, name: str, source: str, detail: str) -> None:
        """A plugin that was skipped: kept for ``formwork plugins list`` and the administrators' notice."""
        self.failed.append((name, detail))
        self.plugins.append(PluginInfo(name, source, loaded=False, error=detail))
        log.error(
            "plugin %s (%s) failed to load and was skipped: %s", name, source or "unknown source", detail
        )


def _one_line(exc: BaseException) -> str:
    return " ".join("".join(traceback.format_exception_only(type(exc), exc)).split())


def _folder_plugins(directory: Path) -> list[tuple[str, Callable | None, str | None, str]]:
    found: list[tuple[str, Callable | None, str | None, str]] = []
    if not directory.is_dir():
        return found
    for folder in sorted(p for p in directory.iterdir() if (p / "__init__.py").is_file()):
        name = folder.name
        module_name = f"formwork_plugin_{name}"
        try:
            spec = importlib.util.spec_from_file_location(
                module_name, folder / "__init__.py", submodule_search_locations=[str(folder)]
            )
            if spec is None or spec.loader is None:
                raise ImportError(f"{folder / '__init__.py'} cannot be imported as a module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            load = getattr(module, "load", None)
            found.append(
                (name, load, None if callable(load) else "has no load(registry) function", f"folder {folder}")
            )
        except Exception as exc:
            sys.modules.pop(module_name, None)
            found.append((name, None, _one_line(exc), f"folder {folder}"))
    return found


def _entry_point_source(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    owner = f" ({dist.name} {dist.version})" if dist is not None else ""
    return f"entry point {ep.value}{owner}"


#: Registers some of the platform's own extensions; ``formwork.wiring`` hands them over.
Builtins = Callable[["PluginRegistry"], None]


def build_registry(
    plugin_dirs: list[Path], safe_mode: bool, builtins: Iterable[Builtins] = ()
) -> PluginRegistry:
    """A registry holding ``builtins`` (they come first, so no plugin can take their names), then plugins."""
    registry = PluginRegistry(safe_mode=safe_mode, plugin_dirs=[Path(d) for d in plugin_dirs])
    for register in builtins:
        register(registry)
    if safe_mode:
        log.warning("safe mode: all plugins are disabled")
        return registry
    candidates: list[tuple[str, Callable | None, str | None, str]] = []
    for directory in plugin_dirs:
        candidates.extend(_folder_plugins(Path(directory)))
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        source = _entry_point_source(ep)
        try:
            loaded = ep.load()
        except Exception as exc:
            candidates.append((ep.name, None, _one_line(exc), source))
            continue
        candidates.append(
            (ep.name, loaded, None if callable(loaded) else "the entry point is not a function", source)
        )
    for name, load, problem, source in candidates:
        if problem or load is None:
            registry.record_failure(name, source, problem or "could not be imported")
            continue
        registry.load_plugin(name, load, source)
    return registry


def init_app(app: Flask, builtins: Iterable[Builtins] = ()) -> None:
    app.extensions["formwork.plugins"] = build_registry(
        app.config["FORMWORK_PLUGIN_DIRS"], app.config["FORMWORK_SAFE_MODE"], builtins
    )


def current_registry() -> PluginRegistry:
    return current_app.extensions["formwork.plugins"]
