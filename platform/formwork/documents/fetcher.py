"""The only way WeasyPrint may load a resource while printing: data URLs and files we ship.

A print template is written by an analyst, and a field value is written by anyone,
so an ``<img src="http://...">`` or ``url(file:///etc/passwd)`` in the HTML must not
make the server open a connection or read an arbitrary file. Everything else is
refused (WeasyPrint then leaves the resource out and carries on).
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher

log = logging.getLogger(__name__)


class LocalOnlyFetcher(URLFetcher):
    """Serve ``data:`` URLs and ``file:`` URLs inside ``roots``; refuse (and remember) the rest."""

    def __init__(self, roots: list[Path] | tuple[Path, ...] = ()) -> None:
        super().__init__(timeout=1, allowed_protocols=("data", "file"), allow_redirects=False)
        self.roots = tuple(Path(root).resolve() for root in roots)
        self.refused: list[str] = []
        self.fetched: list[str] = []

    def _inside_roots(self, url: str) -> bool:
        path = Path(unquote(urlsplit(url).path)).resolve()
        return any(path == root or root in path.parents for root in self.roots)

    def fetch(self, url: str, headers: dict | None = None):  # noqa: D401 - WeasyPrint's signature
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        allowed = scheme == "data" or (scheme == "file" and self._inside_roots(url))
        if not allowed:
            self.refused.append(url)
            log.warning(
                "refused to fetch %s while printing: only data: URLs and bundled files are allowed", url[:200]
            )
            raise ValueError(f"fetching {url[:200]} is not allowed while printing")
        self.fetched.append(url[:200])
        return super().fetch(url, headers)
