"""A problem found in a definition: where (file, line, JSON pointer) and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    message: str
    pointer: str = ""  # RFC 6901 JSON pointer into the definition, "" for the whole document
    source: str | None = None  # file name (or "<editor>")
    line: int | None = None  # 1-based line in the source file, when known
    # A warning says what could not be checked; it never stops a definition.
    warning: bool = False

    def located(self, source: str | None, line: int | None) -> "Problem":
        return Problem(self.message, self.pointer, source, line, self.warning)

    def as_dict(self) -> dict:
        return {"source": self.source, "line": self.line, "pointer": self.pointer, "message": self.message}

    def __str__(self) -> str:
        where = self.source or "<definition>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.pointer or '/'}: {'warning: ' if self.warning else ''}{self.message}"


class DefinitionError(Exception):
    """Raised when a definition cannot become active; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
