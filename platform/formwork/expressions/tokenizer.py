"""Hand-written tokenizer: source text → tokens with 0-based positions.

Only a fixed set of characters means anything; everything else is a syntax
error naming the position, so there is no way to smuggle Python in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .errors import ExpressionSyntaxError
from .limits import DEFAULT_LIMITS, Limits

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "true", "false", "null"})
# Python words a user might try; refused with a clear message rather than "unexpected name".
REFUSED_WORDS = frozenset(
    {
        "import",
        "from",
        "lambda",
        "def",
        "class",
        "for",
        "while",
        "return",
        "yield",
        "exec",
        "eval",
        "global",
        "nonlocal",
        "del",
        "with",
        "as",
        "async",
        "await",
        "try",
        "except",
        "finally",
        "raise",
        "pass",
        "assert",
        "break",
        "continue",
        "elif",
        "else",
    }
)
_TWO_CHAR_OPS = {"==", "!=", "<=", ">="}
_ONE_CHAR_OPS = set("+-*/%<>()[],.")
_MISTAKES = {
    "**": "the power operator ** is not supported",
    "//": "integer division // is not supported; use floor(a / b)",
    "&&": "use 'and' instead of &&",
    "||": "use 'or' instead of ||",
    "<>": "use != to compare for inequality",
    "=": "use == to compare; = is not an operator",
    "!": "use 'not' instead of !",
    "&": "use 'and' instead of &",
    "|": "use 'or' instead of |",
    "^": "the ^ operator is not supported",
    "~": "the ~ operator is not supported",
    ":": "':' is not allowed here (no slices or dictionaries)",
    "{": "'{' is not allowed (no dictionaries or sets)",
    "}": "'}' is not allowed (no dictionaries or sets)",
    ";": "';' is not allowed: an expression is a single formula",
    "@": "the @ operator is not supported",
    "`": "backquotes are not allowed; quote text with '...' or \"...\"",
    "#": "comments are not allowed in expressions",
}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "number" "string" "name" "context" "keyword" "op" "end"
    value: object
    pos: int
    text: str


def _is_name_start(ch: str) -> bool:
    return ch == "_" or ch.isalpha()


def _is_name_char(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ("0" <= ch <= "9")


def tokenize(source: str, limits: Limits = DEFAULT_LIMITS) -> list[Token]:
    """Split ``source`` into tokens; raises ``ExpressionSyntaxError`` with a position."""
    if not isinstance(source, str):
        raise ExpressionSyntaxError("an expression must be text", None, None)
    if len(source) > limits.max_source_length:
        raise ExpressionSyntaxError(
            f"the expression is too long ({len(source)} characters; the limit is {limits.max_source_length})",
            limits.max_source_length,
            source,
        )
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch in " \t\r\n":
            i += 1
        elif "0" <= ch <= "9":
            i = _number(source, i, tokens, limits)
        elif ch == "'" or ch == '"':
            i = _string(source, i, tokens, limits)
        elif ch == "$":
            j = i + 1
            if j >= n or not _is_name_start(source[j]):
                raise ExpressionSyntaxError("'$' must be followed by a context name such as $user", i, source)
            while j < n and _is_name_char(source[j]):
                j += 1
            name = source[i + 1 : j]
            _check_name(name, i + 1, source)
            tokens.append(Token("context", name, i, source[i:j]))
            i = j
        elif _is_name_start(ch):
            j = i + 1
            while j < n and _is_name_char(source[j]):
                j += 1
            word = source[i:j]
            _check_name(word, i, source)
            if word in REFUSED_WORDS:
                raise ExpressionSyntaxError(f"'{word}' is not part of the expression language", i, source)
            tokens.append(Token("keyword" if word in KEYWORDS else "name", word, i, word))
            i = j
        else:
            pair = source[i : i + 2]
            if pair in _TWO_CHAR_OPS:
                tokens.append(Token("op", pair, i, pair))
                i += 2
            elif pair in _MISTAKES:
                raise ExpressionSyntaxError(_MISTAKES[pair], i, source)
            elif ch in _ONE_CHAR_OPS:
                tokens.append(Token("op", ch, i, ch))
                i += 1
            elif ch in _MISTAKES:
                raise ExpressionSyntaxError(_MISTAKES[ch], i, source)
            else:
                raise ExpressionSyntaxError(f"unexpected character {ch!r}", i, source)
    tokens.append(Token("end", None, n, ""))
    return tokens


def _check_name(name: str, pos: int, source: str) -> None:
    if "__" in name:
        raise ExpressionSyntaxError(f"names containing '__' are not allowed: {name!r}", pos, source)
    if not name.isidentifier():
        raise ExpressionSyntaxError(f"{name!r} is not a valid name", pos, source)


def _number(source: str, i: int, tokens: list[Token], limits: Limits) -> int:
    n = len(source)
    j = i
    while j < n and "0" <= source[j] <= "9":
        j += 1
    is_decimal = False
    if j < n and source[j] == "." and j + 1 < n and "0" <= source[j + 1] <= "9":
        is_decimal = True
        j += 1
        while j < n and "0" <= source[j] <= "9":
            j += 1
    if j < n and (_is_name_char(source[j]) or source[j] in "'\"$"):
        raise ExpressionSyntaxError(
            "a number must not run into a name (no exponents, hex or suffixes)", j, source
        )
    text = source[i:j]
    digits = len(text.replace(".", "").lstrip("0"))
    if digits > limits.max_number_literal:
        raise ExpressionSyntaxError(
            f"the number has too many digits ({digits}; the limit is {limits.max_number_literal})", i, source
        )
    if not is_decimal and len(text) > 1 and text[0] == "0":
        raise ExpressionSyntaxError("integers must not start with 0", i, source)
    tokens.append(Token("number", Decimal(text) if is_decimal else int(text), i, text))
    return j


def _string(source: str, i: int, tokens: list[Token], limits: Limits) -> int:
    quote = source[i]
    n = len(source)
    j = i + 1
    parts: list[str] = []
    length = 0
    while True:
        if j >= n:
            raise ExpressionSyntaxError("the text is not closed: a quote is missing", i, source)
        ch = source[j]
        if ch == quote:
            break
        if ch == "\n":
            raise ExpressionSyntaxError("text must not span lines; use \\n", j, source)
        if ch == "\\":
            if j + 1 >= n or source[j + 1] not in _ESCAPES:
                raise ExpressionSyntaxError("unknown escape; use \\\\ \\' \\\" \\n or \\t", j, source)
            parts.append(_ESCAPES[source[j + 1]])
            j += 2
        else:
            parts.append(ch)
            j += 1
        length += 1
        if length > limits.max_string_literal:
            raise ExpressionSyntaxError(
                f"the text is too long (the limit is {limits.max_string_literal} characters)", i, source
            )
    tokens.append(Token("string", "".join(parts), i, source[i : j + 1]))
    return j + 1
