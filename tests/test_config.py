"""Configuration from the environment: the generated secret key, the database URL, the default SQLite path."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
from pathlib import Path

import pytest

from formwork import config


@pytest.fixture
def env(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "instance"
    monkeypatch.setenv("FORMWORK_INSTANCE_PATH", str(folder))
    for name in ("FORMWORK_SECRET_KEY", "FORMWORK_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return folder


def test_the_default_database_is_a_sqlite_file_in_the_instance_folder(env):
    settings = config.from_environment()
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{env.resolve() / 'formwork.db'}"


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgresql://u:p@db:5432/fw", "postgresql+psycopg://u:p@db:5432/fw"),
        ("postgres://u:p@db/fw", "postgresql+psycopg://u:p@db/fw"),
        ("postgresql+psycopg://u@db/fw", "postgresql+psycopg://u@db/fw"),
        ("sqlite:////srv/fw.db", "sqlite:////srv/fw.db"),
    ],
)
def test_formwork_database_url_is_used(env, monkeypatch, given, expected):
    monkeypatch.setenv("FORMWORK_DATABASE_URL", given)
    assert config.from_environment()["SQLALCHEMY_DATABASE_URI"] == expected


def test_a_generated_secret_key_is_kept_across_restarts(env):
    first = config.from_environment()["SECRET_KEY"]
    key_file = env / "secret_key"
    assert key_file.read_text() == first and len(first) >= 40
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert config.from_environment()["SECRET_KEY"] == first  # the next start reads the same key
    assert [p.name for p in env.iterdir() if p.name.startswith(".secret_key")] == []  # no temporary left


def test_a_configured_secret_key_wins_and_writes_nothing(env, monkeypatch):
    monkeypatch.setenv("FORMWORK_SECRET_KEY", "from-the-environment")
    assert config.from_environment()["SECRET_KEY"] == "from-the-environment"
    assert not (env / "secret_key").exists()


def test_an_existing_key_file_is_never_replaced(env):
    env.mkdir(parents=True)
    (env / "secret_key").write_text("kept-by-an-earlier-worker\n")
    assert config.from_environment()["SECRET_KEY"] == "kept-by-an-earlier-worker"
    assert (env / "secret_key").read_text() == "kept-by-an-earlier-worker\n"


def test_an_empty_key_file_is_a_clear_error(env):
    env.mkdir(parents=True)
    (env / "secret_key").write_text("")
    with pytest.raises(RuntimeError, match="secret_key is empty"):
        config.from_environment()


def test_a_worker_that_loses_the_race_uses_the_winners_key(env, monkeypatch):
    """The key file appears between this worker's look and its write: it keeps the other one."""
    env.mkdir(parents=True)
    real_link = os.link

    def link_after_another_worker(source, target):
        Path(target).write_text("the-winners-key")  # the other worker published first
        return real_link(source, target)

    monkeypatch.setattr(os, "link", link_after_another_worker)
    assert config.from_environment()["SECRET_KEY"] == "the-winners-key"


def test_threads_starting_at_once_agree_on_one_key(env):
    env.mkdir(parents=True)
    barrier = threading.Barrier(8)
    keys: list[str] = []

    def start() -> None:
        barrier.wait()
        keys.append(config._secret_key(env))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert (env / "secret_key").read_text() == keys[0]


def _start_worker(folder: str, barrier, results) -> None:
    barrier.wait()
    results.put(config._secret_key(Path(folder)))


def test_processes_starting_at_once_agree_on_one_key(env):
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    workers = [context.Process(target=_start_worker, args=(str(env), barrier, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    keys = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert len(set(keys)) == 1
    assert (env / "secret_key").read_text() == keys[0]


def test_the_business_time_zone_defaults_to_shanghai_and_is_checked(env, monkeypatch):
    monkeypatch.delenv("FORMWORK_TIMEZONE", raising=False)
    assert config.from_environment()["FORMWORK_TIMEZONE"] == "Asia/Shanghai"
    monkeypatch.setenv("FORMWORK_TIMEZONE", "Europe/London")
    assert config.from_environment()["FORMWORK_TIMEZONE"] == "Europe/London"
    monkeypatch.setenv("FORMWORK_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="FORMWORK_TIMEZONE='Mars/Olympus_Mons' is not an IANA time zone"):
        config.from_environment()
