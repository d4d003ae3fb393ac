"""Render one print template in a separate, limited process (run as a script; the app imports only
``PrintSandbox``, to check a template's syntax in the very environment that renders it).

Reads ``{"sources" or "directory", "name", "context", "max_output"}`` as JSON on stdin and writes
``{"html": ...}`` or ``{"error": ..., "line": ...}`` as JSON on stdout. It imports only
Jinja: the template can reach no application object, no database and no configuration,
and CPU time and memory are capped by the operating system, so an endless loop or a
giant string ends this process, not the server's.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

from jinja2 import DictLoader, FileSystemLoader, StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Namespace

MAX_RANGE = 10_000  # items in one range()
MAX_ITERATIONS = 100_000  # range() items over the whole render
MAX_SEQUENCE = 100_000  # characters or items a * or + may produce
MAX_POWER = 64  # largest exponent of **


class LimitExceeded(SecurityError):
    """The template tried to do more work than a printed page needs."""


class PrintSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, without ``lipsum``, with counted ``range`` and bounded ``*``, ``**``, ``+``."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.iterations = 0
        self.globals.clear()
        self.globals.update(range=self._range, dict=dict, namespace=Namespace)

    def _range(self, *args: int) -> range:
        numbers = range(*args)
        if len(numbers) > MAX_RANGE:
            raise LimitExceeded(f"range() of {len(numbers)} items is too long (at most {MAX_RANGE})")
        self.iterations += len(numbers)
        if self.iterations > MAX_ITERATIONS:
            raise LimitExceeded(f"the template loops more than {MAX_ITERATIONS} times")
        return numbers

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_POWER:
                raise LimitExceeded(f"an exponent above {MAX_POWER} is not allowed")
            return left**right
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if (
                    isinstance(seq, (str, list, tuple))
                    and isinstance(count, int)
                    and len(seq) * count > MAX_SEQUENCE
                ):
                    raise LimitExceeded(f"a repeated text or list longer than {MAX_SEQUENCE} is not allowed")
            return left * right
        result = left + right
        if isinstance(result, (str, list, tuple)) and len(result) > MAX_SEQUENCE:
            raise LimitExceeded(f"a joined text or list longer than {MAX_SEQUENCE} is not allowed")
        return result


def render(request: dict[str, Any]) -> dict[str, Any]:
    # The files stored with the form version; a version from before they were stored reads the folder.
    sources = request.get("sources")
    loader = DictLoader(sources) if isinstance(sources, dict) else FileSystemLoader(request["directory"])
    env = PrintSandbox(
        loader=loader,
        autoescape=True,
        undefined=StrictUndefined,
        auto_reload=False,
    )
    max_output = int(request["max_output"])
    try:
        template = env.get_template(request["name"])
        parts: list[str] = []
        size = 0
        for chunk in template.generate(**request["context"]):
            size += len(chunk)
            if size > max_output:
                raise LimitExceeded(f"the printed page would be larger than {max_output} characters")
            parts.append(chunk)
        return {"html": "".join(parts)}
    except TemplateSyntaxError as exc:
        return {"error": f"syntax error: {exc.message}", "line": exc.lineno, "template": exc.name}
    except (TemplateError, SecurityError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "line": _line(exc)}
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError, MemoryError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "line": _line(exc)}


def _line(exc: BaseException) -> int | None:
    """The template line of the innermost frame that belongs to a template, when there is one."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_globals.get("__jinja_template__") is not None:
            template = tb.tb_frame.f_globals["__jinja_template__"]
            line = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line


def main() -> None:
    cpu_seconds = 2  # a real voucher renders in milliseconds
    memory = 512 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    request = json.loads(sys.stdin.buffer.read())
    result = render(request)
    sys.stdout.write(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
