"""Reading definition sources (YAML or JSON) into JSON-ready content with a line for every pointer.

Decisions, documented for analysts in ``docs/definitions.md``:

* YAML is read with PyYAML's safe composer only; no tags construct Python objects.
  Plain scalars follow the YAML 1.2 core schema: only ``true``/``false`` are
  booleans (``yes``, ``no``, ``on``, ``off`` stay text), only ``null``/``~``/empty
  is null, and dates such as ``2024-12-31`` stay text.
* A number with a fraction or an exponent is read exactly and kept as its
  decimal text: ``0.1`` becomes ``"0.1"``. It never passes through binary
  floating point, and the stored definition is plain JSON. Whole numbers stay
  integers. Every place in a definition that takes a decimal accepts text.
* A key repeated in one mapping is an error, not a silent overwrite.
* Aliases are allowed but expansion is bounded, so a "billion laughs" file is refused.
* Nesting is bounded (``MAX_DEPTH``) while the text is parsed, before any parser recurses,
  and so is the length of a whole number (``MAX_INTEGER_DIGITS``): a hostile file is a
  problem with a line, never a crash.
* No text holds the NUL character (the database cannot store it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..input_limits import NUL_MESSAGE, JSONInputError, check_json_depth, find_nul
from .problems import DefinitionError, Problem

MAX_SOURCE_BYTES = 1_000_000
MAX_NODES = 100_000  # values built from one source, aliases expanded
MAX_DEPTH = 64
MAX_EXPONENT = 100  # |exponent| of a decimal literal; 1e999999 is an attack, not a price
MAX_INTEGER_DIGITS = 100  # digits of a whole number; int() itself gives up beyond 4,300

SOURCE_SUFFIXES = (".yaml", ".yml", ".json")

_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_NULL = {"", "~", "null", "Null", "NULL"}
_INF_NAN = re.compile(r"^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$")


@dataclass
class SourceDocument:
    """A parsed definition: JSON-ready ``content`` and where each JSON pointer came from."""

    content: Any
    source: str
    lines: dict[str, int] = field(default_factory=dict)

    def line_for(self, pointer: str) -> int | None:
        """The 1-based line of ``pointer``, else of its nearest ancestor that has one."""
        while True:
            if pointer in self.lines:
                return self.lines[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]

    def locate(self, problems: list[Problem]) -> list[Problem]:
        """Attach this source's name and the line of each problem's pointer."""
        return [
            p.located(self.source, p.line if p.line is not None else self.line_for(p.pointer))
            for p in problems
        ]


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def read_source(path_or_text: str | Path, source_name: str | None = None) -> SourceDocument:
    """Parse a definition from a file path (``Path``) or from text (``str``).

    ``source_name`` names the source in problems and picks the format: a name
    ending in ``.json`` is JSON, anything else YAML. Raises ``DefinitionError``
    naming the source and line when the text cannot be read.
    """
    if isinstance(path_or_text, Path):
        name = source_name or str(path_or_text)
        try:
            raw = path_or_text.read_bytes()
        except OSError as exc:
            raise DefinitionError(
                [Problem(f"cannot read the file: {exc.strerror or exc}", "", name)]
            ) from None
        if len(raw) > MAX_SOURCE_BYTES:
            raise DefinitionError([Problem(_too_large(), "", name)])
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DefinitionError(
                [Problem(f"the file is not UTF-8 text (byte {exc.start})", "", name)]
            ) from None
    else:
        name = source_name or "<editor>"
        text = path_or_text
        if len(text.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
            raise DefinitionError([Problem(_too_large(), "", name)])
    document = _read_json(text, name) if name.lower().endswith(".json") else _read_yaml(text, name)
    pointer = find_nul(document.content)
    if pointer is not None:
        raise DefinitionError([Problem(NUL_MESSAGE, pointer, name, document.line_for(pointer))])
    return document


def _too_large() -> str:
    return f"the definition is larger than {MAX_SOURCE_BYTES:,} bytes"


# --- YAML --------------------------------------------------------------------------------------


class _TooDeep(Exception):
    def __init__(self, line: int, pointer: str):
        self.line = line
        self.pointer = pointer


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting beyond ``MAX_DEPTH`` as it composes.

    The composer recurses once per level, so 10,000 nested ``[`` would exhaust Python's
    stack before ``_YamlBuilder`` could count them.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._path: list[str] = []  # pointer tokens of the nodes being composed

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # ``index`` is a list position, the key node of a mapping value, or None for a key.
        token = index.value if isinstance(index, ScalarNode) else "" if index is None else str(index)
        self._path.append(escape_pointer_token(token))
        try:
            if len(self._path) > MAX_DEPTH + 1:  # the builder counts the root as depth 0
                pointer = "/".join(self._path[1:])
                raise _TooDeep(self.peek_event().start_mark.line + 1, f"/{pointer}")
            return super().compose_node(parent, index)
        finally:
            self._path.pop()


def _too_deep(name: str, line: int | None, pointer: str = "") -> DefinitionError:
    message = f"the definition is nested more than {MAX_DEPTH} levels deep"
    return DefinitionError([Problem(message, pointer, name, line)])


def _read_yaml(text: str, name: str) -> SourceDocument:
    try:
        node = yaml.compose(text, Loader=_BoundedLoader)
    except _TooDeep as exc:
        raise _too_deep(name, exc.line, exc.pointer) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = exc.problem or exc.context or "malformed YAML"
        if exc.context and exc.problem:
            reason = f"{exc.context}, {exc.problem}"
        raise DefinitionError([Problem(f"malformed YAML: {reason}", "", name, line)]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError([Problem(f"malformed YAML: {exc}", "", name)]) from None
    if node is None:
        raise DefinitionError([Problem("the definition is empty", "", name, 1)])
    builder = _YamlBuilder(name)
    content = builder.build(node, "", 0, ())
    return SourceDocument(content, name, builder.lines)


class _YamlBuilder:
    """Turns a composed YAML node tree into JSON-ready values, recording a line per pointer."""

    def __init__(self, name: str):
        self.name = name
        self.lines: dict[str, int] = {}
        self.count = 0

    def fail(self, message: str, pointer: str, node: Node) -> DefinitionError:
        return DefinitionError([Problem(message, pointer, self.name, node.start_mark.line + 1)])

    def build(self, node: Node, pointer: str, depth: int, active: tuple[int, ...]) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                f"the definition has more than {MAX_NODES:,} values (after expanding aliases)", pointer, node
            )
        if depth > MAX_DEPTH:
            raise self.fail(f"the definition is nested more than {MAX_DEPTH} levels deep", pointer, node)
        if id(node) in active:
            raise self.fail("an alias refers to the value that contains it", pointer, node)
        self.lines.setdefault(pointer, node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            return self.scalar(node, pointer)
        if node.tag not in ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"):
            raise self.fail(f"YAML tag {node.tag} is not allowed in a definition", pointer, node)
        inner = active + (id(node),)
        if isinstance(node, SequenceNode):
            return [
                self.build(item, f"{pointer}/{index}", depth + 1, inner)
                for index, item in enumerate(node.value)
            ]
        if isinstance(node, MappingNode):
            return self.mapping(node, pointer, depth, inner)
        raise self.fail(
            "unsupported YAML construct", pointer, node
        )  # pragma: no cover - composer makes only 3

    def mapping(self, node: MappingNode, pointer: str, depth: int, active: tuple[int, ...]) -> dict:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail("merge keys (<<) are not supported; repeat the properties", pointer, key_node)
            if not isinstance(key_node, ScalarNode):
                raise self.fail("a key must be plain text, not a list or mapping", pointer, key_node)
            key = key_node.value
            line = key_node.start_mark.line + 1
            child = f"{pointer}/{escape_pointer_token(key)}"
            if key in result:
                raise self.fail(
                    f'duplicate key "{key}" (first defined on line {first_line[key]})', child, key_node
                )
            first_line[key] = line
            # The key's own line, so a problem about the property points at the property.
            self.lines[child] = line
            result[key] = self.build(value_node, child, depth + 1, active)
        return result

    def scalar(self, node: ScalarNode, pointer: str) -> Any:
        value = node.value
        tag = node.tag
        if node.style is not None and tag == "tag:yaml.org,2002:str":
            return value  # quoted or block text is always text
        if tag not in _IMPLICIT_TAGS and tag != "tag:yaml.org,2002:str":
            raise self.fail(f"YAML tag {tag} is not allowed in a definition", pointer, node)
        if node.style is None:
            if value in _TRUE:
                return True
            if value in _FALSE:
                return False
            if value in _NULL:
                return None
            if (_INT.match(value) or _OCT.match(value) or _HEX.match(value)) and len(
                value.lstrip("+-")
            ) > MAX_INTEGER_DIGITS:
                raise self.fail(f"the number has more than {MAX_INTEGER_DIGITS} digits", pointer, node)
            if _INT.match(value):
                return int(value)
            if _OCT.match(value):
                return int(value[2:], 8)
            if _HEX.match(value):
                return int(value[2:], 16)
            if _FLOAT.match(value):
                try:
                    return exact_decimal_text(Decimal(value))
                except ValueError as exc:
                    raise self.fail(str(exc), pointer, node) from None
            if _INF_NAN.match(value):
                raise self.fail("infinite and not-a-number values are not allowed", pointer, node)
        return value


_IMPLICIT_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:value",
}


def exact_decimal_text(number: Decimal) -> str:
    """A decimal's plain text form (no exponent), refusing absurd magnitudes."""
    if not number.is_finite():
        raise ValueError("infinite and not-a-number values are not allowed")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if abs(exponent) > MAX_EXPONENT or number.adjusted() > MAX_EXPONENT:
        raise ValueError("the number is out of range")
    return format(number, "f")


# --- JSON --------------------------------------------------------------------------------------


def _read_json(text: str, name: str) -> SourceDocument:
    def pairs(items: list[tuple[str, Any]]) -> dict:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise _DuplicateKey(key)
            result[key] = value
        return result

    def parse_float(literal: str) -> str:
        try:
            return exact_decimal_text(Decimal(literal))
        except (ValueError, InvalidOperation) as exc:
            raise _BadNumber(str(exc)) from None

    def parse_constant(literal: str) -> Any:
        raise _BadNumber("infinite and not-a-number values are not allowed")

    def parse_int(literal: str) -> int:
        if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
            raise _BadNumber(f"the number has more than {MAX_INTEGER_DIGITS} digits")
        return int(literal)

    try:
        check_json_depth(text, MAX_DEPTH + 1)  # the builder counts the root as depth 0
    except JSONInputError as exc:
        _json_lines(text, name, raise_problems=True)  # the YAML reading knows the pointer too
        raise _too_deep(name, exc.line) from None
    try:
        content = json.loads(
            text,
            object_pairs_hook=pairs,
            parse_float=parse_float,
            parse_int=parse_int,
            parse_constant=parse_constant,
        )
    except json.JSONDecodeError as exc:
        raise DefinitionError([Problem(f"malformed JSON: {exc.msg}", "", name, exc.lineno)]) from None
    except RecursionError:
        raise DefinitionError([Problem("the definition is nested too deeply", "", name)]) from None
    except _DuplicateKey as exc:
        # The YAML composer sees the same structure and knows exactly where the repeat is.
        _json_lines(text, name, raise_problems=True)
        raise DefinitionError([Problem(f'duplicate key "{exc.key}"', "", name)]) from None
    except _BadNumber as exc:
        # As for a repeated key, the YAML reading of the same text knows the pointer and line.
        _json_lines(text, name, raise_problems=True)
        raise DefinitionError([Problem(str(exc), "", name)]) from None
    return SourceDocument(content, name, _json_lines(text, name))


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


class _BadNumber(Exception):
    pass


def _json_lines(text: str, name: str, raise_problems: bool = False) -> dict[str, int]:
    """Lines per pointer for a JSON source.

    JSON is (for definitions) a subset of YAML, so the YAML composer gives the
    positions; when it disagrees with some JSON corner case, problems simply
    carry no line rather than a wrong one.
    """
    try:
        node = yaml.compose(text, Loader=_BoundedLoader)
        if node is None:
            return {}
        builder = _YamlBuilder(name)
        builder.build(node, "", 0, ())
        return builder.lines
    except DefinitionError:
        if raise_problems:
            raise
        return {}
    except _TooDeep as exc:
        if raise_problems:
            raise _too_deep(name, exc.line, exc.pointer) from None
        return {}
    except yaml.YAMLError:
        return {}
