"""Approval processes: a record's run through its route — tasks, decisions, the trail."""


def init_app(app):
    # Here, not at the top: importing the package for its models must not load its pages.
    from . import cli, views

    views.init_app(app)
    app.cli.add_command(cli.due_cli)
