"""Sign-in throttling by client address as well as by user name; old rows expire; proxies only when
configured.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from formwork import create_app
from formwork.demo import DEMO_PASSWORD
from formwork.extensions import db
from formwork.org import clock, throttle
from formwork.org.models import LoginThrottle

ATTACKER = "203.0.113.7"
COLLEAGUE = "198.51.100.20"
NETWORK_LOCK = "Too many failed sign-in attempts from your network address."
NAME_LOCK = "Too many failed sign-in attempts for this user name."


def _post(client, csrf_token, username, password, address=ATTACKER, headers=None):
    data = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    return client.post(
        "/login",
        data=data,
        headers={"Accept-Language": "en", **(headers or {})},
        environ_base={"REMOTE_ADDR": address},
    )


def _failures(key: str) -> int | None:
    row = db.session.scalar(select(LoginThrottle).where(LoginThrottle.username == key))
    return row.failures if row else None


@pytest.fixture
def limits(app):
    app.config.update(
        FORMWORK_LOGIN_MAX_FAILURES=3,
        FORMWORK_LOGIN_MAX_FAILURES_PER_IP=5,
        FORMWORK_LOGIN_LOCK_SECONDS=600,
        FORMWORK_LOGIN_FAILURE_WINDOW_SECONDS=3600,
    )


def _move_clock(monkeypatch, seconds: float):
    later = clock.now() + timedelta(seconds=seconds)
    monkeypatch.setattr(clock, "now", lambda: later)


def test_many_names_from_one_address_lock_the_address(client, demo_org, csrf_token, limits):
    for name in ("ghost1", "ghost2", "ghost3", "ghost4"):
        assert _post(client, csrf_token, name, "guess").status_code == 200
    locked = _post(client, csrf_token, "ghost5", "guess")
    assert locked.status_code == 429 and NETWORK_LOCK in locked.get_data(as_text=True)
    # From that address even a real user with the right password waits...
    refused = _post(client, csrf_token, "alice", DEMO_PASSWORD)
    assert refused.status_code == 429 and NETWORK_LOCK in refused.get_data(as_text=True)
    # ...while everyone else signs in as usual, alice included.
    assert _post(client, csrf_token, "alice", DEMO_PASSWORD, address=COLLEAGUE).status_code == 302


def test_a_locked_address_does_not_keep_a_name_locked(client, demo_org, csrf_token, limits, monkeypatch):
    for _ in range(3):
        _post(client, csrf_token, "bob", "guess")
    assert _failures("bob") == 3
    for _ in range(2):
        _post(client, csrf_token, "bob", "guess")  # refused: the name is locked; counted against the address
    assert _failures(throttle.address_key(ATTACKER)) == 5
    # The address is locked now: its attempts no longer reach the name's counter.
    for _ in range(10):
        assert _post(client, csrf_token, "bob", "guess").status_code == 429
    assert _failures("bob") == 3
    # The name's lock runs out while the attacker's address is still barred.
    _move_clock(monkeypatch, 601)
    assert _post(client, csrf_token, "bob", DEMO_PASSWORD, address=COLLEAGUE).status_code == 302


def test_a_locked_name_refuses_the_right_password_from_a_clean_address(client, demo_org, csrf_token, limits):
    for _ in range(3):
        _post(client, csrf_token, "carol", "guess")
    still = _post(client, csrf_token, "carol", DEMO_PASSWORD, address=COLLEAGUE)
    assert still.status_code == 429 and NAME_LOCK in still.get_data(as_text=True)


def test_an_address_past_its_limit_is_slowed_to_one_guess_per_lock(
    client, demo_org, csrf_token, limits, monkeypatch
):
    for index in range(5):
        _post(client, csrf_token, f"ghost{index}", "guess")
    _move_clock(monkeypatch, 601)
    assert _post(client, csrf_token, "ghost9", "guess").status_code == 429  # one more failure: locked again
    assert _post(client, csrf_token, "alice", DEMO_PASSWORD).status_code == 429


def test_signing_in_does_not_reset_the_address_allowance(client, demo_org, csrf_token, limits):
    for index in range(4):
        _post(client, csrf_token, f"ghost{index}", "guess")
    assert _post(client, csrf_token, "alice", DEMO_PASSWORD).status_code == 302
    assert _failures(throttle.address_key(ATTACKER)) == 4
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert _post(client, csrf_token, "ghost4", "guess").status_code == 429


def test_old_rows_expire_so_guessed_names_do_not_pile_up(
    app, client, demo_org, csrf_token, limits, monkeypatch
):
    for index in range(4):
        _post(client, csrf_token, f"ghost{index}", "guess", address=f"192.0.2.{index}")
    assert db.session.query(LoginThrottle).count() == 8
    _move_clock(monkeypatch, 3601)
    _post(client, csrf_token, "ghost-new", "guess", address=COLLEAGUE)
    assert sorted(db.session.scalars(select(LoginThrottle.username))) == ["ghost-new", f"ip:{COLLEAGUE}"]


def test_a_locked_row_is_kept_until_its_lock_runs_out(app, demo_org, limits, monkeypatch):
    app.config.update(FORMWORK_LOGIN_FAILURE_WINDOW_SECONDS=60)
    for _ in range(3):
        throttle.record_failure("dave", COLLEAGUE)
    _move_clock(monkeypatch, 120)  # past the window, still inside the 600 s lock
    throttle.record_failure("someone", ATTACKER)
    assert throttle.seconds_locked("dave") > 0


def test_failures_older_than_the_window_are_forgotten(app, demo_org, limits, monkeypatch):
    throttle.record_failure("erin", COLLEAGUE)
    throttle.record_failure("erin", COLLEAGUE)
    _move_clock(monkeypatch, 3601)
    assert throttle.record_failure("erin", COLLEAGUE) == 0
    assert _failures("erin") == 1


def test_a_user_name_can_never_stand_for_an_address(client, demo_org, csrf_token, limits):
    for _ in range(6):
        _post(client, csrf_token, f"ip:{COLLEAGUE}", "guess")
    assert _failures(f"ip:{COLLEAGUE}") is None
    assert _failures(f"name:ip:{COLLEAGUE}") == 3
    assert _post(client, csrf_token, "alice", DEMO_PASSWORD, address=COLLEAGUE).status_code == 302


@pytest.mark.parametrize(
    "address, key",
    [
        ("203.0.113.7", "ip:203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "ip:2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "ip:203.0.113.7"),
        ("", None),
        (None, None),
    ],
)
def test_address_keys(address, key):
    assert throttle.address_key(address) == key


def test_forwarded_for_is_ignored_unless_proxies_are_configured(client, demo_org, csrf_token, limits):
    spoofed = {"X-Forwarded-For": "192.0.2.99"}
    for index in range(5):
        _post(client, csrf_token, f"ghost{index}", "guess", headers=spoofed)
    assert _failures("ip:192.0.2.99") is None
    assert _failures(throttle.address_key(ATTACKER)) == 5


def test_forwarded_for_is_the_client_behind_a_configured_proxy(app, tmp_path, csrf_token):
    proxied = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "FORMWORK_UPLOAD_DIR")},
            "TESTING": True,
            "FORMWORK_PROXY_COUNT": 1,
        }
    )
    with proxied.app_context():
        client = proxied.test_client()
        _post(
            client,
            csrf_token,
            "ghost",
            "guess",
            address="10.0.0.1",
            headers={"X-Forwarded-For": "192.0.2.50, 192.0.2.51"},
        )
        assert _failures("ip:192.0.2.51") == 1  # one trusted proxy: its right-most entry
        assert _failures("ip:10.0.0.1") is None
        db.session.remove()
