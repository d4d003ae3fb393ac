"""How the application reads a request: ids in URLs, and bodies sent without a length.

Both are installed by ``create_app`` for every URL and every request, so a new endpoint
gets them without asking.
"""

from __future__ import annotations

from typing import IO, Any

from flask import Request
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

from .input_limits import MAX_ROW_ID


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every URL: ASCII digits up to ``MAX_ROW_ID``, the range of an id column.

    Werkzeug's own converter matches any Unicode digit (``\\d``), so "/records/٣" opened
    record 3, and it passes numbers beyond the column's range to the database, which
    PostgreSQL answers with an error. Here such a URL matches no route: a 404, like any
    other id that does not exist.
    """

    regex = r"[0-9]{1,10}"

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        # Arguments as in a rule (``<int(max=99):n>``); without a maximum, an id column's.
        if len(args) < 3:  # fixed_digits, min, max may come by position
            kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)
        if self.max == MAX_ROW_ID and not self.fixed_digits:
            # The range in the pattern itself: Werkzeug answers a method mismatch (405) before it
            # converts, so a number refused only by ``max`` made PATCH /x/2147483648 a 405, not a 404.
            self.regex = _UP_TO_MAX_ROW_ID


def _up_to(limit: str) -> str:
    """A regular expression of the numbers from 0 to ``limit`` (leading zeros only below its length)."""
    parts = [f"[0-9]{{1,{len(limit) - 1}}}"] if len(limit) > 1 else []
    for index, digit in enumerate(limit):
        rest = len(limit) - index - 1
        if int(digit) > (1 if index == 0 else 0):
            low = "1" if index == 0 else "0"
            parts.append(f"{limit[:index]}[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(limit)
    return "(?:" + "|".join(parts) + ")"


_UP_TO_MAX_ROW_ID = _up_to(str(MAX_ROW_ID))


class _CappedStream(LimitedStream):
    """A body without ``Content-Length`` (chunked), read up to the request's size limit.

    Werkzeug's stream stops reading at the limit and hands back what it has, so a body one
    byte over the limit arrived cut short and was accepted as if complete. Here a read that
    reaches the limit looks for one more byte: if the client sent more, the answer is 413.
    """

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            self.on_exhausted()  # raises RequestEntityTooLarge
        return data


class CappedRequest(Request):
    """The request class of the application: a streamed body over the limit is a 413, never cut."""

    @cached_property
    def stream(self) -> IO[bytes]:
        if self.shallow:
            raise RuntimeError("this request was created with shallow=True; its body cannot be read")
        limit = self.max_content_length
        # Raises 413 at once when a Content-Length is over the limit.
        stream = get_input_stream(self.environ, max_content_length=limit)
        if limit is not None and "wsgi.input_terminated" in self.environ:
            # The server ends the body itself (chunked transfer, gunicorn): Werkzeug would
            # cut it at the limit; this stream refuses it instead.
            return _CappedStream(self.environ["wsgi.input"], limit, is_max=True)  # type: ignore[return-value]
        return stream
