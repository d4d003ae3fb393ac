"""Approval processes: a record's run through its route — tasks, decisions, the trail."""


def init_app(app):
    from . import views

    views.init_app(app)
