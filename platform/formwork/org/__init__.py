"""The organisation: departments, users, roles, sign-in and API tokens."""


def init_app(app):
    pass
