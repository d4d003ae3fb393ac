"""Imports every module that adds routes to the API blueprint."""
from . import attachments, forms, openapi, records  # noqa: F401,E402  - forms, records, attachments, OpenAPI
from . import definitions  # noqa: F401,E402  - list, validate, publish and diff definition versions
