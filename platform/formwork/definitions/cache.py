"""The per-application cache of what is derived from published definitions.

Compiled forms, routes and policies are keyed by version id *and* checksum; what is published
now is keyed by the published set's stamp (``definitions.in_force``). Either key names
something that never changes, so an entry never goes stale; the cache only has to stay small.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

from flask import current_app

COMPILED_CACHE_SIZE = 256
_CACHE_KEY = "formwork.definitions.compiled"


class CompiledCache:
    """A small LRU of compiled artefacts, one per application (so per registry and database)."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_build(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = build()  # outside the lock: compiling twice in a race is harmless, blocking is not
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


def compiled_cache() -> CompiledCache:
    cache = current_app.extensions.get(_CACHE_KEY)
    if cache is None:
        cache = current_app.extensions.setdefault(_CACHE_KEY, CompiledCache(COMPILED_CACHE_SIZE))
    return cache
