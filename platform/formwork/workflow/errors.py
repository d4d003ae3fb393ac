"""Refusals of the workflow runtime; each ``message`` is safe to show to the person acting."""

from __future__ import annotations


class WorkflowError(Exception):
    """Base of every refusal; ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class NotYourTask(WorkflowError):
    """The task does not exist, or is not the caller's to act on (answered as 404: reveals nothing)."""

    status = 404

    def __init__(self, message: str = "no such task"):
        super().__init__(message)


class TaskClosed(WorkflowError):
    """The task was already decided (by this person a moment ago, or by someone else)."""

    status = 409

    def __init__(self, message: str = "already decided"):
        super().__init__(message)


class InvalidDecision(WorkflowError):
    """The decision is not possible here (missing comment, unknown step, inactive user...).

    ``field`` names the input at fault where there is one (a form marks it, the API names it).
    """

    status = 422

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


class StartRefused(WorkflowError):
    """The request cannot enter its route (nobody to approve a step, or self-approval forbidden)."""

    status = 422
