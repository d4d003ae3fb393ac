"""Imports every module that adds routes to the API blueprint."""

from ..documents import views as documents_views  # noqa: F401,E402  - GET /api/records/<id>/pdf
from . import (  # noqa: F401,E402  - forms, records, attachments, OpenAPI  # noqa: F401,E402  - approval tasks, decisions, requests, withdraw, out of office
    attachments,
    definitions,  # noqa: F401,E402  - list, validate, publish and diff definition versions
    forms,
    my_requests,  # noqa: F401,E402  - delete a draft, copy a request, remind (催办)
    notifications,  # noqa: F401,E402  - the caller's in-app notifications
    openapi,
    processes,
    records,
    tasks,
)
