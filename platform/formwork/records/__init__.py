"""Records: the data people enter through generated forms."""


def init_app(app):
    pass
