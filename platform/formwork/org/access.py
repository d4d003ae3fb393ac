"""Role checks for views: ``@roles_required("analyst", "administrator")``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from ..extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])


def has_any_role(user: Any, *role_keys: str) -> bool:
    if not user or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.role_keys() & set(role_keys))


def roles_required(*role_keys: str) -> Callable[[F], F]:
    """Allow the view to users holding **any one** of ``role_keys``.

    Anonymous callers get the sign-in treatment (401 JSON under /api, a redirect to
    /login otherwise); signed-in callers without the role get 403 (JSON under /api).
    Administrators get no implicit pass: list ``"administrator"`` where they belong.
    """
    if not role_keys:
        raise ValueError("roles_required needs at least one role key")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_any_role(current_user, *role_keys):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
