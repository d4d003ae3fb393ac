"""Interface language (zh-CN / en)."""


def init_app(app):
    pass
