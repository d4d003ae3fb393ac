"""Field types: how a form field's raw input becomes a typed value, and back to JSON.

Each type is one ``FieldType`` instance registered in the plugin registry
(``registry.add_field_type``), so plugins add types exactly the way the
built-ins are added. A type answers four questions:

* ``configure`` — read the field's definition, report definition problems
  (missing options, min > max, a dangerous pattern) and keep parsed settings;
* ``value_type`` — the expression-language type of its value (for type checks);
* ``coerce`` — raw input (JSON or form data) → runtime value, or ``FieldValueError``;
* ``check`` — bounds of an already-typed value (min/max, length, pattern, ...);

plus ``to_json`` / ``from_json`` for storage. Runtime values follow the
expression language: text ``str``, integer ``int``, decimal/money ``Decimal``
(never float), ``date``, aware ``datetime`` in UTC, ``bool``, choice ``str``,
multiple choice ``list[str]``, user/department ``int`` id, attachment
``list[int]``, line items ``list[dict]``.
"""

from __future__ import annotations

import re
import re._constants as sre_constants  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable, Iterable

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from .. import business_time
from ..expressions import T
from ..extensions import db
from ..file_names import extension
from ..i18n import localized
from ..input_limits import MAX_ROW_ID, row_id
from ..org.models import Department, User
from ..records.models import Attachment

if TYPE_CHECKING:
    from .model import FieldModel

# report(message, relative_pointer) — relative_pointer like "/options" or "" for the field itself.
Report = Callable[[str, str], None]

# Hard limits that hold whatever a definition says: they keep one submission cheap to process.
MAX_NUMBER_TEXT = 40  # characters in a decimal number written as text
MAX_INTEGER_DIGITS = 18  # integers fit a signed 64-bit column
MAX_DECIMAL_INTEGER_DIGITS = 15  # digits before the point for decimal and money
DEFAULT_TEXT_MAX = 1000
DEFAULT_LONG_TEXT_MAX = 20000
MAX_PATTERN_INPUT = 256  # a pattern never sees more than this many characters
MAX_PATTERN_REPEATS = 3  # open-ended repeats (+, *, {n,}) in one pattern
MAX_CHOICES = 1000


class FieldValueError(ValueError):
    """A raw value that cannot become a value of the field's type; ``message`` is user-facing."""

    def __init__(self, message: Any):
        self.message = message
        super().__init__(str(message))


@dataclass(frozen=True)
class ValueContext:
    """What value checks may need to know beyond the value: who submits, and into which record."""

    user_id: int | None = None
    record_id: int | None = None
    form_key: str | None = None


def format_number(value: Decimal | int, scale: int | None = None) -> str:
    """``1000000`` → ``1,000,000.00`` for messages (grouping, fixed scale when known)."""
    if isinstance(value, int):
        return f"{value:,}"
    if scale is not None:
        value = value.quantize(Decimal(1).scaleb(-scale))
    return format(value, ",f")


class FieldType:
    """Base class of every field type; subclasses override what differs."""

    name: str = ""
    #: The properties of a field spec that belong to this type (``currency`` to money). A property
    #: of another type written here is refused; None (a plugin's type) means not policed.
    properties: frozenset[str] | None = None
    widget: str = "text"
    #: False for types whose value is never taken from input (computed).
    accepts_input: bool = True

    def configure(self, field: "FieldModel", registry: Any, report: Report) -> None:
        """Parse type-specific settings from ``field.spec`` into ``field.settings``."""

    def value_type(self, field: "FieldModel") -> Any:
        raise NotImplementedError

    def coerce(self, raw: Any, field: "FieldModel") -> Any:
        """Raw input → value; ``None`` for empty. Raise ``FieldValueError`` when impossible."""
        raise NotImplementedError

    def check(self, value: Any, field: "FieldModel", ctx: ValueContext) -> list[Any]:
        """Messages for a typed, non-empty value that breaks the field's bounds."""
        return []

    def freely_chosen(self, field: "FieldModel") -> bool:
        """Whether the submitter may give this field any value of its type (so a route must not let it
        choose which budget, or other fact, applies to them without saying so)."""
        return self.accepts_input and not field.readonly

    def json_type_error(self, raw: Any, field: "FieldModel") -> Any | None:
        """Why a non-null value from a JSON body has the wrong JSON type for this field, or None.

        Browser form posts are always strings and ``coerce`` reads them leniently; an API
        client sends typed JSON, so a number for a text field is refused instead of being
        silently converted. The default accepts whatever ``coerce`` accepts (plugin types).
        """
        return None

    def to_json(self, value: Any) -> Any:
        return value

    def from_json(self, stored: Any) -> Any:
        return stored

    def is_empty(self, value: Any) -> bool:
        return value is None or value == "" or value == []


# ---------------------------------------------------------------- text


def _pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is unsafe or invalid, or None.

    Python's ``re`` has no timeout, so patterns written by analysts are checked once,
    when the definition is loaded, for the shapes that backtrack catastrophically:
    an open-ended repeat inside another repeat (``(a+)+``, ``(.*a){12}``), ambiguous
    alternatives inside a repeat (``(a|aa)*``), back references, and more than
    ``MAX_PATTERN_REPEATS`` open-ended repeats (polynomial blow-up, ``.*a.*a.*a.*a``).
    Input longer than ``MAX_PATTERN_INPUT`` characters never reaches the matcher.
    """
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        return str(_l("invalid pattern: %(reason)s", reason=str(exc)))
    if len(pattern) > 500:
        return str(_l("pattern is too long"))
    repeats = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT}
    unbounded_count = 0

    def walk(items: Iterable, inside_repeat: bool) -> bool:
        nonlocal unbounded_count
        for op, arg in items:
            if op in repeats:
                low, high, body = arg
                unbounded = high == sre_constants.MAXREPEAT or high > 100
                if unbounded:
                    unbounded_count += 1
                if unbounded and inside_repeat and op != sre_constants.POSSESSIVE_REPEAT:
                    return True
                if walk(body, inside_repeat or high > 1):
                    return True
            elif op == sre_constants.SUBPATTERN:
                if walk(arg[-1], inside_repeat):
                    return True
            elif op == sre_constants.BRANCH:
                if inside_repeat and not _distinct_first_literals(arg[1]):
                    return True  # (a|aa)* can split the same text many ways
                if any(walk(branch, inside_repeat) for branch in arg[1]):
                    return True
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
                if walk(arg[1], inside_repeat):
                    return True
            elif op in (sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS):
                return True  # back references make matching exponential in general
        return False

    if walk(parsed, False):
        return str(_l("pattern has nested repetition that could make matching very slow"))
    if unbounded_count > MAX_PATTERN_REPEATS:
        # Each unbounded repeat multiplies the backtracking work by the input length.
        return str(_l("pattern has more than %(n)s open-ended repeats (+, *)", n=MAX_PATTERN_REPEATS))
    return None


def _distinct_first_literals(branches: Iterable) -> bool:
    """Do the alternatives each start with a different literal character (so at most one can match)?"""
    firsts = []
    for branch in branches:
        items = list(branch)
        if not items or items[0][0] != sre_constants.LITERAL:
            return False
        firsts.append(items[0][1])
    return len(firsts) == len(set(firsts))


def _length_setting(field: "FieldModel", key: str, report: Report) -> int | None:
    value = field.spec.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        report(str(_l("%(key)s must be a non-negative whole number", key=key)), f"/{key}")
        return None
    return value


# Line breaks of every kind: CR, LF, VT, FF, NEL and Unicode's line and paragraph separators.
_LINE_BREAK = re.compile("[\n\r\v\f\x85\u2028\u2029]")
# Control characters other than tab and the line breaks above (C0, DEL, C1).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")


class TextType(FieldType):
    name = "text"
    properties = frozenset({"min_length", "max_length", "pattern", "pattern_message"})
    widget = "text"
    default_max_length = DEFAULT_TEXT_MAX
    single_line = True

    def configure(self, field, registry, report):
        s = field.settings
        s["min_length"] = _length_setting(field, "min_length", report)
        max_length = _length_setting(field, "max_length", report)
        s["max_length"] = max_length if max_length is not None else self.default_max_length
        if s["min_length"] is not None and s["min_length"] > s["max_length"]:
            report(str(_l("min_length is greater than max_length")), "/min_length")
        ignore = field.spec.get("ignore_characters")
        s["ignore"] = None
        if ignore is not None:
            if isinstance(ignore, str) and ignore:
                s["ignore"] = str.maketrans("", "", ignore)
            else:
                report(str(_l("must be a string")), "/ignore_characters")
        pattern = field.spec.get("pattern")
        s["pattern"] = None
        if pattern is not None:
            problem = _pattern_problem(pattern) if isinstance(pattern, str) else str(_l("must be a string"))
            if problem:
                report(problem, "/pattern")
            else:
                s["pattern"] = re.compile(pattern)

    def value_type(self, field):
        return T.TEXT

    def json_type_error(self, raw, field):
        return None if isinstance(raw, str) else _l("expected text")

    def coerce(self, raw, field):
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
            raise FieldValueError(_l("must be text"))
        text = str(raw)
        ignore = field.settings.get("ignore")
        if ignore is not None:
            # Grouping typed for readability (spaces, dashes in an account number) is not part of the value.
            text = text.translate(ignore)
        if self.single_line:
            text = text.strip()
            if _LINE_BREAK.search(text):
                # A single-line value becomes a record's title and an e-mail's subject, where a
                # line break splits the header; browsers never put one in a text input.
                raise FieldValueError(_l("must be a single line"))
        if _CONTROL.search(text):
            # NUL cannot be stored by PostgreSQL; the other control characters are invisible
            # and no legitimate input has them. Tabs and (in long text) line breaks are kept.
            raise FieldValueError(_l("contains a character that is not allowed"))
        return text or None

    def check(self, value, field, ctx):
        s = field.settings
        errors = []
        if s["max_length"] is not None and len(value) > s["max_length"]:
            errors.append(_l("must be at most %(n)s characters", n=format_number(s["max_length"])))
        elif s["min_length"] is not None and len(value) < s["min_length"]:
            errors.append(_l("must be at least %(n)s characters", n=format_number(s["min_length"])))
        elif s["pattern"] is not None:
            if len(value) > MAX_PATTERN_INPUT or not s["pattern"].fullmatch(value):
                message = field.spec.get("pattern_message")
                errors.append(
                    localized(message, _current_locale()) if message else _l("has an invalid format")
                )
        return errors


class LongTextType(TextType):
    name = "long_text"
    widget = "textarea"
    default_max_length = DEFAULT_LONG_TEXT_MAX
    single_line = False


# ---------------------------------------------------------------- numbers

# ASCII digits only: Decimal() and int() also read Arabic-Indic and full-width digits.
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_GROUPED_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")


def parse_decimal(raw: Any) -> Decimal:
    """Exact decimal from JSON/form input; refuses floats' artefacts, exponents, NaN, infinity."""
    if isinstance(raw, bool):
        raise FieldValueError(_l("must be a number"))
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        # Only reachable from Python callers; the API parses JSON numbers as Decimal.
        # repr() is the shortest text that round-trips, so 0.1 stays 0.1.
        value = Decimal(repr(raw))
    elif isinstance(raw, str):
        text = raw.strip()
        if len(text) > MAX_NUMBER_TEXT:
            raise FieldValueError(_l("is too long for a number"))
        if _GROUPED_DECIMAL_TEXT.fullmatch(text):
            text = text.replace(",", "")
        if not _DECIMAL_TEXT.fullmatch(text):
            raise FieldValueError(_l("must be a number"))
        value = Decimal(text)
    else:
        raise FieldValueError(_l("must be a number"))
    if not value.is_finite():
        raise FieldValueError(_l("must be a number"))
    if value.adjusted() >= MAX_DECIMAL_INTEGER_DIGITS:
        raise FieldValueError(_l("is too large"))
    return value


def _bound_setting(field: "FieldModel", key: str, parse: Callable[[Any], Any], report: Report) -> Any:
    raw = field.spec.get(key)
    if raw is None:
        return None
    try:
        return parse(raw)
    except (FieldValueError, ValueError, TypeError, InvalidOperation):
        report(str(_l("%(key)s is not a valid value for this field", key=key)), f"/{key}")
        return None


def _check_min_max(field: "FieldModel", report: Report) -> None:
    low, high = field.settings.get("min"), field.settings.get("max")
    if low is not None and high is not None and low > high:
        report(str(_l("min is greater than max")), "/min")


class IntegerType(FieldType):
    name = "integer"
    properties = frozenset({"min", "max"})
    widget = "integer"

    def configure(self, field, registry, report):
        field.settings["min"] = _bound_setting(field, "min", self._parse, report)
        field.settings["max"] = _bound_setting(field, "max", self._parse, report)
        _check_min_max(field, report)

    def value_type(self, field):
        return T.INTEGER

    def json_type_error(self, raw, field):
        if isinstance(raw, bool) or not isinstance(raw, (int, Decimal)):
            return _l("expected a whole number (a JSON number)")
        return None

    def _parse(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise FieldValueError(_l("must be a whole number"))
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, (str, Decimal, float)):
            if isinstance(raw, str) and raw.strip() == "":
                raise FieldValueError(_l("must be a whole number"))
            try:
                number = parse_decimal(raw)
            except FieldValueError:
                raise FieldValueError(_l("must be a whole number")) from None
            if number != number.to_integral_value():
                raise FieldValueError(_l("must be a whole number"))
            value = int(number)
        else:
            raise FieldValueError(_l("must be a whole number"))
        if abs(value) >= 10**MAX_INTEGER_DIGITS:
            raise FieldValueError(_l("is too large"))
        return value

    def coerce(self, raw, field):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return self._parse(raw)

    def check(self, value, field, ctx):
        low, high = field.settings["min"], field.settings["max"]
        if high is not None and value > high:
            return [_l("must be at most %(max)s", max=format_number(high))]
        if low is not None and value < low:
            return [_l("must be at least %(min)s", min=format_number(low))]
        return []


class DecimalType(FieldType):
    """Exact decimal; ``scale`` (places after the point) is optional and enforced, never rounded."""

    name = "decimal"
    properties = frozenset({"min", "max", "scale"})
    widget = "decimal"
    default_scale: int | None = None

    def configure(self, field, registry, report):
        scale = field.spec.get("scale", self.default_scale)
        if scale is not None and (
            not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= 10
        ):
            report(str(_l("scale must be a whole number from 0 to 10")), "/scale")
            scale = self.default_scale
        field.settings["scale"] = scale
        field.settings["min"] = _bound_setting(field, "min", parse_decimal, report)
        field.settings["max"] = _bound_setting(field, "max", parse_decimal, report)
        _check_min_max(field, report)

    def value_type(self, field):
        return T.DECIMAL

    def json_type_error(self, raw, field):
        if isinstance(raw, bool) or not isinstance(raw, (int, Decimal, str)):
            return _l('expected a number, or a decimal as text ("1234.50")')
        return None

    def coerce(self, raw, field):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        value = parse_decimal(raw)
        scale = field.settings.get("scale")
        if scale is not None:
            quantum = Decimal(1).scaleb(-scale)
            exact = value.quantize(quantum)
            if exact != value:
                # Never round silently: a value the user did not mean is worse than an error.
                raise FieldValueError(_l("must have at most %(n)s decimal places", n=scale))
            value = exact
        return value

    def check(self, value, field, ctx):
        s = field.settings
        if s["max"] is not None and value > s["max"]:
            return [_l("must be at most %(max)s", max=format_number(s["max"], s["scale"]))]
        if s["min"] is not None and value < s["min"]:
            return [_l("must be at least %(min)s", min=format_number(s["min"], s["scale"]))]
        return []

    def to_json(self, value):
        return None if value is None else str(value)

    def from_json(self, stored):
        return None if stored is None else Decimal(str(stored))


class MoneyType(DecimalType):
    """Exact amount in one currency (``currency``, default CNY), ``scale`` default 2."""

    name = "money"
    properties = frozenset({"min", "max", "scale", "currency"})
    widget = "money"
    default_scale = 2

    def configure(self, field, registry, report):
        super().configure(field, registry, report)
        currency = field.spec.get("currency", "CNY")
        if not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
            report(str(_l("currency must be a three-letter ISO 4217 code")), "/currency")
            currency = "CNY"
        field.settings["currency"] = currency

    def value_type(self, field):
        return T.MONEY


# ---------------------------------------------------------------- dates

_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(raw: Any) -> date:
    if isinstance(raw, datetime):
        raise FieldValueError(_l("must be a date (YYYY-MM-DD)"))
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str) and _DATE_TEXT.fullmatch(raw.strip()):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise FieldValueError(_l("must be a date (YYYY-MM-DD)"))


def parse_datetime(raw: Any) -> datetime:
    """ISO 8601 date and time; a time without offset is business time (``FORMWORK_TIMEZONE``, as a
    ``datetime-local`` input posts it). Result is aware, in UTC."""
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str) and 10 < len(raw.strip()) <= 40 and _DATE_TEXT.match(raw.strip()):
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise FieldValueError(_l("must be a date and time (ISO 8601)")) from None
    else:
        raise FieldValueError(_l("must be a date and time (ISO 8601)"))
    try:
        return business_time.from_local(value)
    except OverflowError:  # year 1 or 9999 moved across midnight by the zone's offset
        raise FieldValueError(_l("must be a date and time (ISO 8601)")) from None


class DateType(FieldType):
    name = "date"
    properties = frozenset({"min", "max"})
    widget = "date"
    parse = staticmethod(parse_date)

    def configure(self, field, registry, report):
        field.settings["min"] = _bound_setting(field, "min", self.parse, report)
        field.settings["max"] = _bound_setting(field, "max", self.parse, report)
        _check_min_max(field, report)

    def value_type(self, field):
        return T.DATE

    def json_type_error(self, raw, field):
        return None if isinstance(raw, str) else _l("expected a date as text (YYYY-MM-DD)")

    def coerce(self, raw, field):
        if raw is None or raw == "":
            return None
        return self.parse(raw)

    def check(self, value, field, ctx):
        s = field.settings
        if s["max"] is not None and value > s["max"]:
            return [_l("must be on or before %(max)s", max=s["max"].isoformat())]
        if s["min"] is not None and value < s["min"]:
            return [_l("must be on or after %(min)s", min=s["min"].isoformat())]
        return []

    def to_json(self, value):
        return None if value is None else value.isoformat()

    def from_json(self, stored):
        return None if stored is None else self.parse(stored)


class DateTimeType(DateType):
    name = "datetime"
    widget = "datetime"
    parse = staticmethod(parse_datetime)

    def value_type(self, field):
        return T.DATETIME

    def json_type_error(self, raw, field):
        return None if isinstance(raw, str) else _l("expected a date and time as text (ISO 8601)")


# ---------------------------------------------------------------- boolean and choices

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


class BooleanType(FieldType):
    name = "boolean"
    properties = frozenset()
    widget = "checkbox"

    def value_type(self, field):
        return T.BOOLEAN

    def json_type_error(self, raw, field):
        return None if isinstance(raw, bool) else _l("expected true or false")

    def coerce(self, raw, field):
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE:
            return True
        if isinstance(raw, str) and raw.strip().lower() in _FALSE:
            return False
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        raise FieldValueError(_l("must be true or false"))

    def is_empty(self, value):
        # An unticked box is an answer; "required" on a boolean means "must be answered".
        return value is None


def _configure_options(field: "FieldModel", report: Report) -> None:
    raw = field.spec.get("options")
    options: dict[str, Any] = {}
    if not isinstance(raw, list) or not raw:
        report(
            str(_l("a %(type)s field needs a non-empty list of options", type=field.type.name)), "/options"
        )
    else:
        for index, option in enumerate(raw[:MAX_CHOICES]):
            if isinstance(option, dict):
                value, label = option.get("value"), option.get("label", option.get("value"))
            else:
                value, label = option, option
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                report(str(_l("option value must be text")), f"/options/{index}")
                continue
            value = str(value)
            if value in options:
                report(str(_l("duplicate option %(value)s", value=value)), f"/options/{index}")
            options[value] = label
    field.settings["options"] = options


class ChoiceType(FieldType):
    name = "choice"
    properties = frozenset({"options"})
    widget = "select"

    def configure(self, field, registry, report):
        _configure_options(field, report)

    def value_type(self, field):
        return T.TEXT

    def json_type_error(self, raw, field):
        if isinstance(raw, list):
            return _l("expected one option, not a list")
        return None if isinstance(raw, str) else _l("expected an option value as text")

    def coerce(self, raw, field):
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            raise FieldValueError(_l("must be one of the options"))
        value = str(raw)
        if value not in field.settings["options"]:
            raise FieldValueError(_l("must be one of the options"))
        return value


class MultiChoiceType(FieldType):
    name = "multi_choice"
    properties = frozenset({"options", "min", "max"})
    widget = "checkboxes"

    def configure(self, field, registry, report):
        _configure_options(field, report)
        field.settings["min"] = _length_setting(field, "min", report)
        field.settings["max"] = _length_setting(field, "max", report)
        _check_min_max(field, report)

    def value_type(self, field):
        return T.ListOf(T.TEXT)

    def json_type_error(self, raw, field):
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            return _l("expected a list of option values as text")
        return None

    def coerce(self, raw, field):
        if raw is None or raw == "" or raw == []:
            return None
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or len(raw) > MAX_CHOICES:
            raise FieldValueError(_l("must be a list of options"))
        options = field.settings["options"]
        chosen: list[str] = []
        for item in raw:
            if isinstance(item, bool) or not isinstance(item, (str, int)) or str(item) not in options:
                raise FieldValueError(_l("must contain only the offered options"))
            if str(item) not in chosen:
                chosen.append(str(item))
        # Store in option order so equal selections are equal values.
        order = {value: i for i, value in enumerate(options)}
        return sorted(chosen, key=order.__getitem__)

    def check(self, value, field, ctx):
        low, high = field.settings["min"], field.settings["max"]
        if high is not None and len(value) > high:
            return [_l("choose at most %(n)s", n=high)]
        if low is not None and len(value) < low:
            return [_l("choose at least %(n)s", n=low)]
        return []


# ---------------------------------------------------------------- people, departments, files


def _parse_id(raw: Any, message: Any) -> int:
    if isinstance(raw, bool):
        raise FieldValueError(message)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str):
        value = row_id(raw) or 0
    else:
        raise FieldValueError(message)
    if not 0 < value <= MAX_ROW_ID:  # beyond an id column's range is nobody, not a database error
        raise FieldValueError(message)
    return value


class UserType(FieldType):
    """An active user, by id."""

    name = "user"
    properties = frozenset()
    widget = "user"

    def value_type(self, field):
        return T.USER

    def json_type_error(self, raw, field):
        return (
            None
            if isinstance(raw, int) and not isinstance(raw, bool)
            else _l("expected a user id (a whole number)")
        )

    def coerce(self, raw, field):
        if raw is None or raw == "":
            return None
        return _parse_id(raw, _l("must be a user"))

    def check(self, value, field, ctx):

        user = db.session.get(User, value)
        if user is None or not user.active:
            return [_l("must be an active user")]
        return []


DEPARTMENT_CHOICES = ("own", "own_and_below", "any")


class DepartmentType(FieldType):
    """An active department, by id.

    Settings: ``choices`` — which departments the submitter may choose: ``own`` (their own),
    ``own_and_below`` (their own and every department under it) or ``any`` (default);
    ``any_for_roles`` — role keys whose holders may choose any department whatever ``choices``
    says. Checked on the server with every save, against the person saving.
    """

    name = "department"
    properties = frozenset({"choices", "any_for_roles"})
    widget = "department"

    def configure(self, field, registry, report):
        choices = field.spec.get("choices", "any")
        if choices not in DEPARTMENT_CHOICES:
            report(str(_l("choices must be one of: own, own_and_below, any")), "/choices")
            choices = "any"
        field.settings["choices"] = choices
        field.settings["any_for_roles"] = tuple(field.spec.get("any_for_roles") or ())

    def value_type(self, field):
        return T.DEPARTMENT

    def json_type_error(self, raw, field):
        if isinstance(raw, int) and not isinstance(raw, bool):
            return None
        return _l("expected a department id (a whole number)")

    def coerce(self, raw, field):
        if raw is None or raw == "":
            return None
        return _parse_id(raw, _l("must be a department"))

    def freely_chosen(self, field):
        return super().freely_chosen(field) and field.settings.get("choices", "any") == "any"

    def allowed_ids(self, field, user: Any) -> set[int] | None:
        """The department ids ``user`` may choose in this field; None: any department."""
        choices = field.settings.get("choices", "any")
        if choices == "any" or user is None:
            return None
        held = set(user.role_keys()) if hasattr(user, "role_keys") else set()
        if held & set(field.settings.get("any_for_roles") or ()):
            return None
        own = user.department
        if own is None:
            return set()
        if choices == "own":
            return {own.id}
        return {own.id, *(department.id for department in own.descendants())}

    def check(self, value, field, ctx):

        department = db.session.get(Department, value)
        if department is None or not department.active:
            return [_l("must be an existing department")]
        if field.settings.get("choices", "any") != "any" and ctx.user_id is not None:
            allowed = self.allowed_ids(field, db.session.get(User, ctx.user_id))
            if allowed is not None and value not in allowed:
                if field.settings["choices"] == "own":
                    return [_l("choose your own department")]
                return [_l("choose your own department or one under it")]
        return []


DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
DEFAULT_ACCEPT = (".pdf", ".png", ".jpg", ".jpeg", ".gif", ".webp")


class AttachmentType(FieldType):
    """Uploaded files, as a list of attachment ids.

    Settings: ``max_files`` (default 10), ``max_size`` in bytes (default 10 MiB),
    ``accept`` — file extensions such as ``[".pdf", ".png"]``.
    """

    name = "attachment"
    properties = frozenset({"max_size", "accept", "max_files"})
    widget = "file"

    def configure(self, field, registry, report):
        s = field.settings
        s["max_files"] = _length_setting(field, "max_files", report) or 10
        s["max_size"] = _length_setting(field, "max_size", report) or DEFAULT_MAX_FILE_SIZE
        accept = field.spec.get("accept", list(DEFAULT_ACCEPT))
        if isinstance(accept, str):
            accept = [a.strip() for a in accept.split(",")]
        if not isinstance(accept, list) or not all(isinstance(a, str) and a for a in accept):
            report(str(_l("accept must be a list of file extensions")), "/accept")
            accept = list(DEFAULT_ACCEPT)
        s["accept"] = tuple(a.lower() if a.startswith(".") else "." + a.lower() for a in accept)

    def value_type(self, field):
        return T.ListOf(T.INTEGER)

    def json_type_error(self, raw, field):
        if not isinstance(raw, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw):
            return _l("expected a list of attachment ids (whole numbers)")
        return None

    def coerce(self, raw, field):
        if raw is None or raw == "" or raw == []:
            return None
        if not isinstance(raw, list):
            raw = [raw]
        if len(raw) > 100:
            raise FieldValueError(_l("has too many files"))
        ids: list[int] = []
        for item in raw:
            value = _parse_id(item, _l("must be a list of uploaded files"))
            if value not in ids:
                ids.append(value)
        return ids

    def check(self, value, field, ctx):

        if len(value) > field.settings["max_files"]:
            return [_l("at most %(n)s files", n=field.settings["max_files"])]
        found = {a.id: a for a in db.session.scalars(db.select(Attachment).where(Attachment.id.in_(value)))}
        for attachment_id in value:
            attachment = found.get(attachment_id)
            # Only the uploader's own, unclaimed files (or files already on this very record):
            # a guessed id must never attach someone else's document.
            usable = (
                attachment is not None
                and attachment.owner_id == ctx.user_id
                and (attachment.record_id is None or attachment.record_id == ctx.record_id)
                and (ctx.form_key is None or attachment.form_key == ctx.form_key)
                and attachment.field_path == field.path
            )
            if attachment is None or not usable:
                return [_l("file %(id)s is not an upload of yours for this field", id=attachment_id)]
            # Checked when uploaded against the version the page showed; this version's limits decide.
            if attachment.record_id is None and not _fits_limits(attachment, field):
                return [
                    _l("file %(name)s is not accepted by this field (type or size)", name=attachment.filename)
                ]
        return []


def _fits_limits(attachment: Any, field: "FieldModel") -> bool:
    return (
        attachment.size <= field.settings["max_size"]
        and extension(attachment.filename) in field.settings["accept"]
    )


# ---------------------------------------------------------------- computed and line items

COMPUTED_RESULT_TYPES = ("money", "decimal", "integer", "text", "boolean", "date", "datetime")


class ComputedType(FieldType):
    """A value computed from ``expression``; never taken from input.

    ``result_type`` names the type of the result (money, decimal, integer, text,
    boolean, date, datetime); its settings (``currency``, ``scale``) apply, and a
    decimal or money result is rounded half-up to its scale.
    """

    name = "computed"
    properties = frozenset({"expression", "result_type", "scale", "currency"})
    widget = "computed"
    accepts_input = False

    def configure(self, field, registry, report):
        result_name = field.spec.get("result_type", "decimal")
        if result_name not in COMPUTED_RESULT_TYPES or result_name not in registry.field_types:
            report(
                str(_l("result_type must be one of: %(types)s", types=", ".join(COMPUTED_RESULT_TYPES))),
                "/result_type",
            )
            result_name = "decimal"
        result = registry.field_types[result_name]
        field.settings["result"] = result
        result.configure(field, registry, report)
        if not isinstance(field.spec.get("expression"), str) or not field.spec.get("expression", "").strip():
            report(str(_l("a computed field needs an expression")), "/expression")

    def value_type(self, field):
        return field.settings["result"].value_type(field)

    def coerce(self, raw, field):
        raise FieldValueError(_l("is computed and cannot be set"))

    def normalise(self, value: Any, field: "FieldModel") -> Any:
        """The expression's result in the declared result type (exact decimals, rounded to scale)."""
        if value is None:
            return None
        scale = field.settings.get("scale")
        if isinstance(value, Decimal) and scale is not None:
            return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and field.settings["result"].name
            in (
                "decimal",
                "money",
            )
        ):
            value = Decimal(value)
            return value.quantize(Decimal(1).scaleb(-scale)) if scale is not None else value
        return value

    def to_json(self, value):
        return value if value is None else _result_json(value)

    def from_json(self, stored):
        return stored  # computed values are recomputed from the inputs, never trusted from storage


def _result_json(value: Any) -> Any:
    if isinstance(value, (Decimal, date)):
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


class LinesType(FieldType):
    """Repeating line items: a list of rows, each a dict of the sub-fields in ``fields``.

    ``min_rows`` / ``max_rows`` (default 200) bound the number of rows.
    """

    name = "lines"
    properties = frozenset({"fields", "min_rows", "max_rows"})
    widget = "lines"

    def configure(self, field, registry, report):
        field.settings["min_rows"] = _length_setting(field, "min_rows", report)
        max_rows = _length_setting(field, "max_rows", report)
        field.settings["max_rows"] = max_rows if max_rows is not None else 200
        if field.settings["min_rows"] is not None and field.settings["min_rows"] > field.settings["max_rows"]:
            report(str(_l("min_rows is greater than max_rows")), "/min_rows")

    def value_type(self, field):
        return T.ListOf(T.RecordOf({sub.key: sub.value_type for sub in field.fields}))

    def coerce(self, raw, field):
        # Rows are coerced field by field by the validator, which knows each row's path.
        if raw is None or raw == []:
            return None
        if not isinstance(raw, list) or not all(isinstance(row, dict) for row in raw):
            raise FieldValueError(_l("must be a list of rows"))
        return raw

    def check(self, value, field, ctx):
        low, high = field.settings["min_rows"], field.settings["max_rows"]
        if len(value) > high:
            return [_l("at most %(n)s rows", n=high)]
        if low is not None and len(value) < low:
            return [_l("at least %(n)s rows", n=low)]
        return []


def _current_locale() -> str | None:
    try:
        locale = get_locale()
        return str(locale) if locale else None
    except Exception:  # outside a request there is no locale; fall back to English
        return None


BUILTIN_TYPES: tuple[type[FieldType], ...] = (
    TextType,
    LongTextType,
    IntegerType,
    DecimalType,
    MoneyType,
    DateType,
    DateTimeType,
    BooleanType,
    ChoiceType,
    MultiChoiceType,
    UserType,
    DepartmentType,
    AttachmentType,
    ComputedType,
    LinesType,
)


def register_builtins(registry: Any) -> None:
    """Add every built-in field type; plugins add theirs the same way."""
    for cls in BUILTIN_TYPES:
        registry.add_field_type(cls())
