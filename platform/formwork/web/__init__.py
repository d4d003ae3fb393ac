"""web"""


def init_app(app):
    pass
