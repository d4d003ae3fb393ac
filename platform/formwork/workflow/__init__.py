"""Approval processes: a record's run through its route — tasks, decisions, the trail."""


def init_app(app):
    # Here, not at the top: importing the package for its models must not load its pages.
    from . import views

    views.init_app(app)
