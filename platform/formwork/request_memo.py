"""Answers read once per request: what several parts of one request ask the database alike.

A detail request asks for the permission policies, the department tree and the person's roles
for its scope, its field rights and its search; each read is a statement or more. ``once``
keeps the first answer for the rest of the request. A commit or a rollback forgets every
answer, so a request that changes people, departments or definitions reads them again
afterwards; outside a request (commands, background work) nothing is kept.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
_KEY = "formwork.request_memo"


def once(key: Any, build: Callable[[], T]) -> T:
    """``build()`` the first time ``key`` is asked for in this request, its answer afterwards."""
    if not has_request_context():
        return build()
    memo = request.environ.setdefault(_KEY, {})
    if key not in memo:
        memo[key] = build()
    return memo[key]


def forget() -> None:
    """Forget what this request has read (called on every commit and rollback)."""
    if has_request_context():
        request.environ.pop(_KEY, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_on_transaction_end(session: Session) -> None:
    forget()
