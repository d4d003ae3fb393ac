"""Imports every module that adds routes to the API blueprint."""
from . import attachments, forms, openapi, records  # noqa: F401,E402  - forms, records, attachments, OpenAPI
from . import definitions  # noqa: F401,E402  - list, validate, publish and diff definition versions
from ..documents import views as documents_views  # noqa: F401,E402  - GET /api/records/<id>/pdf
from . import notifications  # noqa: F401,E402  - the caller's in-app notifications
from . import processes, tasks  # noqa: F401,E402  - approval tasks, decisions, requests, withdraw, out of office
