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
from typing import Any, Callable

from flask import Flask, current_app

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "formwork.plugins"


class PluginError(Exception):
    """A plugin tried to register something invalid or already taken."""


@dataclass
class PluginRegistry:
    functions: dict[str, Any] = field(default_factory=dict)
    field_types: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    _builtins: set[tuple[str, str]] = field(default_factory=set)
    _current_plugin: str | None = None

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
        """Register a route fact (a ``formwork.routes.facts.FactProvider``), read as ``$name`` in conditions."""
        self._add("fact provider", self.facts, provider.name, provider)

    def _add(self, what: str, table: dict[str, Any], name: str, value: Any) -> None:
        if name in table:
            owner = "a built-in" if (what, name) in self._builtins else "another plugin"
            raise PluginError(f"{what} {name!r} is already registered by {owner}")
        table[name] = value
        if self._current_plugin is None:
            self._builtins.add((what, name))

    def load_plugin(self, name: str, load: Callable[["PluginRegistry"], None]) -> bool:
        """Run one plugin's ``load``; on failure undo its registrations and record why."""
        snapshot = (dict(self.functions), dict(self.field_types), dict(self.channels), dict(self.facts))
        self._current_plugin = name
        try:
            load(self)
        except Exception as exc:  # a broken plugin must never take the platform down
            self.functions, self.field_types, self.channels, self.facts = snapshot
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.failed.append((name, detail))
            log.error("plugin %s failed to load and was skipped: %s", name, detail)
            return False
        finally:
            self._current_plugin = None
        self.loaded.append(name)
        return True


def _folder_plugins(directory: Path) -> list[tuple[str, Callable | None, str | None]]:
    found = []
    if not directory.is_dir():
        return found
    for folder in sorted(p for p in directory.iterdir() if (p / "__init__.py").is_file()):
        name = folder.name
        module_name = f"formwork_plugin_{name}"
        try:
            spec = importlib.util.spec_from_file_location(
                module_name, folder / "__init__.py", submodule_search_locations=[str(folder)]
            )
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            load = getattr(module, "load", None)
            found.append((name, load, None if callable(load) else "has no load(registry) function"))
        except Exception as exc:
            sys.modules.pop(module_name, None)
            found.append((name, None, "".join(traceback.format_exception_only(type(exc), exc)).strip()))
    return found


def build_registry(plugin_dirs: list[Path], safe_mode: bool) -> PluginRegistry:
    from ..expressions.functions import register_builtins as register_builtin_functions
    from ..forms.field_types import register_builtins as register_builtin_field_types
    from ..routes.facts import register_builtins as register_builtin_facts
    from ..notifications.channels import register_builtins as register_builtin_channels

    registry = PluginRegistry()
    register_builtin_functions(registry)
    register_builtin_field_types(registry)
    register_builtin_facts(registry)
    register_builtin_channels(registry)
    if safe_mode:
        log.warning("safe mode: all plugins are disabled")
        return registry
    candidates: list[tuple[str, Callable | None, str | None]] = []
    for directory in plugin_dirs:
        candidates.extend(_folder_plugins(Path(directory)))
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            candidates.append((ep.name, ep.load(), None))
        except Exception as exc:
            candidates.append((ep.name, None, "".join(traceback.format_exception_only(type(exc), exc)).strip()))
    for name, load, problem in candidates:
        if problem or load is None:
            registry.failed.append((name, problem or "could not be imported"))
            log.error("plugin %s failed to load and was skipped: %s", name, problem)
            continue
        registry.load_plugin(name, load)
    return registry


def init_app(app: Flask) -> None:
    app.extensions["formwork.plugins"] = build_registry(
        app.config["FORMWORK_PLUGIN_DIRS"], app.config["FORMWORK_SAFE_MODE"]
    )


def current_registry() -> PluginRegistry:
    return current_app.extensions["formwork.plugins"]
