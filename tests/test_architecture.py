"""The package's layers, written down once: imports point down, never up, and never in a circle.

``docs/architecture.md`` draws the same layers. Every import inside ``platform/formwork`` counts,
at module level or deferred inside a function: a deferred import that hides an upward step or a
circle is still that step. The API and the pages are sibling adapters: neither imports the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "platform" / "formwork"

# Bottom to top. A module belongs to the first layer whose prefix its dotted name starts with
# (``formwork.`` left out); the pages (``views`` modules and ``web``) and the command line
# (``cli`` modules) are matched by name before the prefixes.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "core",
        (
            "config",
            "extensions",
            "db_types",
            "business_time",
            "input_limits",
            "http_input",
            "i18n",
            "formatting",
            "file_names",
            "request_memo",
        ),
    ),
    ("audit", ("audit",)),
    ("expressions", ("expressions",)),
    ("printing", ("printing",)),
    ("definitions", ("definitions",)),
    ("org and engines", ("org", "rules", "plugins")),
    ("kinds", ("forms", "routes", "records", "budgets", "permissions", "kpis")),
    ("exports", ("exports",)),
    ("dashboards", ("dashboards",)),
    ("notifications", ("notifications",)),
    ("workflow", ("workflow",)),
    ("documents", ("documents",)),
    ("adapters", ("api", "pages", "web")),
    ("wiring", ("wiring", "areas", "offline_check", "cli", "demo", "models", "")),
]

PAGES = "pages"
API = "api"


def layer_of(module: str) -> tuple[int, str]:
    """(layer index, adapter kind or "") of a dotted module name inside ``formwork``."""
    name = module.removeprefix("formwork").removeprefix(".")
    parts = name.split(".") if name else []
    adapters = [i for i, (label, _) in enumerate(LAYERS) if label == "adapters"][0]
    wiring = len(LAYERS) - 1
    if parts and parts[-1] == "cli":
        return wiring, ""
    if parts and (parts[-1] == "views" or parts[-1].endswith("_views") or parts[0] == "web"):
        return adapters, PAGES
    if parts and parts[0] == "api":
        return adapters, API
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if prefix and parts and parts[0] == prefix:
                return index, ""
    return wiring, ""


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    deferred: bool


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        anchor = importer.split(".")
        if not is_package:
            anchor = anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([node.module] if node.module else []))
    if not base.startswith("formwork"):
        return []
    # ``from . import x`` names a submodule when one exists; otherwise the package itself.
    targets = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        if _exists(candidate):
            targets.append(candidate)
        else:
            targets.append(base)
    return targets


def _exists(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _is_deferred(tree: ast.Module, target: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if any(child is target for child in ast.walk(node)):
                return True
    return False


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of import nodes under ``if TYPE_CHECKING:``: they never run."""
    hidden: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(child) for child in ast.walk(node))
    return hidden


def all_imports() -> Iterator[Import]:
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(importer, path.name == "__init__.py", node)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("formwork")]
            else:
                continue
            deferred = _is_deferred(tree, node)
            for target in targets:
                if target != importer:
                    yield Import(importer, target, node.lineno, deferred)


IMPORTS = list(all_imports())


def test_the_layer_table_knows_every_package():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    named = {prefix for _, prefixes in LAYERS for prefix in prefixes if prefix}
    assert packages | modules <= named | {"templates", "translations"}, (
        "add the new package or module to LAYERS (and to docs/architecture.md)"
    )


def test_imports_point_down_the_layers():
    upward = []
    for imp in IMPORTS:
        (low, _), (high, _) = layer_of(imp.importer), layer_of(imp.imported)
        if high > low:
            upward.append(
                f"{imp.importer}:{imp.line} imports {imp.imported} ({LAYERS[low][0]} -> {LAYERS[high][0]})"
            )
    assert upward == []


def test_the_api_and_the_pages_do_not_import_each_other():
    crossing = []
    for imp in IMPORTS:
        (_, a), (_, b) = layer_of(imp.importer), layer_of(imp.imported)
        if {a, b} == {API, PAGES}:
            crossing.append(f"{imp.importer}:{imp.line} imports {imp.imported}")
    assert crossing == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles():
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        # A package's __init__ that re-exports its modules is not a circle with them.
        if imp.importer.startswith(imp.imported + "."):
            continue
        edges.setdefault(imp.importer, set()).add(imp.imported)
    assert _cycles(edges) == []


def test_deferred_imports_are_rare():
    """Under 10 % of import statements sit inside functions (Flask's own source: 6 %)."""
    statements = {(imp.importer, imp.line): imp.deferred for imp in IMPORTS}
    deferred = sorted(key for key, is_deferred in statements.items() if is_deferred)
    assert len(deferred) < 0.10 * len(statements), (
        f"{len(deferred)} of {len(statements)} import statements are inside functions"
    )


def test_each_deferred_import_says_why():
    """An import inside a function carries its reason in a comment, on its line or the line above."""
    silent = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    here, above = lines[node.lineno - 1], lines[node.lineno - 2]
                    if "#" not in here and not above.strip().startswith("#"):
                        silent.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {here.strip()}")
    assert silent == []


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("formwork.expressions.parser", "expressions"),
        ("formwork.records.views", "adapters"),
        ("formwork.api.records", "adapters"),
        ("formwork.workflow.runtime", "workflow"),
        ("formwork", "wiring"),
    ],
)
def test_layer_of(module, layer):
    assert LAYERS[layer_of(module)[0]][0] == layer
