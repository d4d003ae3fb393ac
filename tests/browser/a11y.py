"""Accessibility and look checks the browser tests share.

``check(page)`` runs axe-core (vendored under ``vendor/``, see ``vendor/README.md``) on the page as
it is now and fails on any critical or serious violation, listing each with the elements at fault.
``screenshot(page, name)`` saves the page as a test artefact under ``test-results/screenshots/``.

axe is evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
govern, so the page is checked with its real CSP in force.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).resolve().parent / "vendor"
AXE = VENDOR / "axe-4.14.1.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
FAILING_IMPACTS = ("critical", "serious")

# The sizes every main page is checked at: a common laptop and a common phone.
DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

_source: str | None = None


def _axe_source() -> str:
    global _source
    if _source is None:
        _source = AXE.read_text(encoding="utf-8")
    return _source


def run(page: Any, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """axe's full result for the page (``violations``, ``passes``, ...)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    return page.evaluate(
        "options => window.axe.run(document, options)",
        {"resultTypes": ["violations"], **(options or {})},
    )


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['html'][:160]}")
    return "\n".join(lines)


def check(
    page: Any, *, impacts: tuple[str, ...] = FAILING_IMPACTS, options: dict[str, Any] | None = None
) -> None:
    """Fail when axe finds a violation of one of ``impacts`` on the page."""
    result = run(page, options)
    found = [v for v in result["violations"] if v.get("impact") in impacts]
    assert not found, f"accessibility violations on {page.url}:\n{describe(found)}"


def screenshot(page: Any, name: str) -> Path:
    """Save the whole page as ``test-results/screenshots/<name>.png``; returns the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path
