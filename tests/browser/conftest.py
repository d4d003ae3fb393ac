"""Browser test harness: the real application in a background thread, driven by headless Chromium.

The server runs on a fresh SQLite database built by the migrations, with the demo organisation
seeded and the demo definitions published — the same steps as ``./dev demo``. Nothing here ever
skips: if Chromium cannot start, the tests fail, so CI cannot go green without exercising a browser.
A failing test leaves a screenshot in ``test-results/``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from formwork import create_app
from formwork.extensions import db

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "demo-password"
# Long enough for a loaded 2-core machine, short enough that a broken page fails fast.
TIMEOUT_MS = 10_000


def _run_cli(app: Flask, *args: str) -> None:
    with app.app_context():  # as the `formwork` command does, for groups that are not AppGroups
        result = app.test_cli_runner().invoke(args=list(args))
    if result.exit_code != 0:
        raise RuntimeError(
            f"`formwork {' '.join(args)}` failed "
            f"({result.exit_code}):\n{result.output}{result.exception or ''}"
        )


def _prepare_database(app: Flask) -> None:
    """Migrate an empty database, seed the demo organisation, publish the demo definitions."""
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config(str(ROOT / "migrations"))
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        db.session.remove()
    _run_cli(app, "demo", "seed")
    _run_cli(app, "definitions", "publish")


_LIVE_APPS: list[Flask] = []


@pytest.fixture(scope="session")
def live_app(live_server) -> Flask:
    """The application ``live_server`` serves, for a test that must put data behind a page first."""
    return _LIVE_APPS[0]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[str]:
    """Base URL of the demo application served from a background thread."""
    folder = tmp_path_factory.mktemp("browser")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORMWORK_INSTANCE_PATH", str(folder / "instance"))
        patch.setenv("FORMWORK_DEMO", "1")
        app = create_app(
            {
                "SECRET_KEY": "browser-test-secret",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'browser.db'}",
                "FORMWORK_DEMO": True,
                "FORMWORK_UPLOAD_DIR": folder / "uploads",
            }
        )
        _prepare_database(app)
        _LIVE_APPS.append(app)
        server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="formwork-live-server", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)
            with app.app_context():
                db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium; a browser that cannot start is a failure, never a skip."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        pytest.fail(f"Playwright is not installed ({exc}); run ./dev setup", pytrace=False)
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install the chromium package (apt-get install chromium)", pytrace=False
        )
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        pytest.fail(f"Chromium at {CHROMIUM} could not start: {exc}", pytrace=False)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the test item so the page fixture knows whether the test failed.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _new_page(browser, live_server: str, request, **context_options):
    context = browser.new_context(base_url=live_server, locale="en-US", **context_options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    return context, page


def _screenshot_if_failed(request, page) -> None:
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        RESULTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        try:
            page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)
        except Exception:  # the page may be gone; the test's own error matters more
            pass


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context (own cookies) with a desktop viewport, in English."""
    context, page = _new_page(browser, live_server, request, viewport={"width": 1280, "height": 900})
    yield page
    _screenshot_if_failed(request, page)
    context.close()


@pytest.fixture
def phone_page(browser, live_server, request):
    """A fresh browser context the size of a phone screen (375 × 812), with touch."""
    context, page = _new_page(
        browser, live_server, request, viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    yield page
    _screenshot_if_failed(request, page)
    context.close()


def _sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label(re.compile(r"user ?name", re.I)).fill(username)
    page.get_by_label(re.compile(r"password", re.I)).fill(password)
    page.get_by_role("button", name=re.compile(r"sign in|log in", re.I)).click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"sign-in as {username} failed: still on {page.url}"


@pytest.fixture
def sign_in():
    """``sign_in(page, username)``: sign in through the real login page, the way a person would."""
    return _sign_in
