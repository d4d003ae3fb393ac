"""The definition language: parsing, schema and semantic validation, immutable versions."""


def init_app(app):
    pass
