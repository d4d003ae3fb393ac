"""Approval processes: a record's run through its route — tasks, decisions, the trail."""


def init_app(app):
    # Late: the package's models are imported on their own (e.g. by records.access) without the pages.
    from . import cli, views

    views.init_app(app)
    app.cli.add_command(cli.due_cli)
