"""Approval routes: the ``route`` definition kind, compiled into a graph the workflow runtime walks."""


def init_app(app):
    pass
