"""``formwork users ...``: creating users, passwords, leaving, listing."""

from __future__ import annotations

from formwork.extensions import db
from formwork.org import users


def test_create_user_with_password_from_stdin(runner, client, demo_org, login):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Zoe",
            "--name",
            "Zoe Zhang",
            "--department",
            "FIN",
            "--manager",
            "carol",
            "--role",
            "cashier",
            "--role",
            "employee",
            "--password-stdin",
        ],
        input="a-long-password\n",
    )
    assert result.exit_code == 0, result.output
    zoe = users.user_by_username("zoe")
    assert zoe.department.code == "FIN" and zoe.manager.username == "carol"
    assert zoe.role_keys() == {"cashier", "employee"}
    login(client, "zoe", "a-long-password")


def test_create_user_refusals(runner, demo_org):
    cases = [
        (["users", "create", "alice", "--name", "A", "--no-password"], "already exists"),
        (["users", "create", "x1", "--name", "X", "--department", "NOPE", "--no-password"], "no department"),
        (["users", "create", "x2", "--name", "X", "--manager", "ghost", "--no-password"], "no user"),
        (["users", "create", "x3", "--name", "X", "--role", "pope", "--no-password"], "no role"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and message in result.output, args
    short = runner.invoke(args=["users", "create", "x4", "--name", "X", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 8" in short.output
    db.session.rollback()
    assert all(users.user_by_username(f"x{i}") is None for i in range(1, 5))


def test_set_password_prompt(runner, client, demo_org, login):
    result = runner.invoke(args=["users", "set-password", "henry"], input="new-password-1\nnew-password-1\n")
    assert result.exit_code == 0, result.output
    login(client, "henry", "new-password-1")


def test_leave_and_list(runner, demo_org, bearer):
    bearer("ivan")
    result = runner.invoke(args=["users", "leave", "ivan"])
    assert result.exit_code == 0 and "1 token(s) revoked" in result.output
    listing = runner.invoke(args=["users", "list"]).output.splitlines()
    ivan = next(line for line in listing if line.startswith("ivan\t"))
    assert ivan.endswith("\tleft") and "\tLEGAL\tdave\tlegal_reviewer\t" in ivan
    assert runner.invoke(args=["users", "leave", "ghost"]).exit_code != 0
    assert runner.invoke(args=["tokens", "create", "ivan"]).exit_code != 0
