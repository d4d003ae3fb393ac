"""Fixtures for notifications: a real (tiny) SMTP server, a webhook receiver, records and tasks."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# ---- SMTP --------------------------------------------------------------------------------


@dataclass
class SmtpInbox:
    messages: list = field(default_factory=list)  # email.message.EmailMessage
    envelopes: list = field(default_factory=list)  # (mail_from, [rcpt_to])


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Enough of RFC 5321 for smtplib: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        inbox: SmtpInbox = self.server.inbox  # type: ignore[attr-defined]
        self._reply("220 localhost test SMTP")
        mail_from, rcpt_to = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode("utf-8", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 localhost")
            elif verb == "MAIL":
                mail_from, rcpt_to = command.split(":", 1)[1].strip(), []
                self._reply("250 OK")
            elif verb == "RCPT":
                rcpt_to.append(command.split(":", 1)[1].strip())
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b".\n", b""):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                inbox.messages.append(message_from_bytes(b"".join(lines), policy=policy.default))
                inbox.envelopes.append((mail_from, list(rcpt_to)))
                self._reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("502 Command not implemented")


class _SmtpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def free_port() -> int:
    """A port with nothing listening on it (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """Start and stop a local SMTP server on a chosen port; received mail lands in ``inbox``."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.inbox = SmtpInbox()
        self._server: _SmtpServer | None = None

    def start(self) -> "SmtpServer":
        self._server = _SmtpServer(("127.0.0.1", self.port), _SmtpHandler)
        self._server.inbox = self.inbox  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_config(app, smtp_server):
    """E-mail on, pointing at the local server."""
    app.config.update(
        FORMWORK_SMTP_HOST="127.0.0.1",
        FORMWORK_SMTP_PORT=smtp_server.port,
        FORMWORK_SMTP_FROM="formwork@example.com",
        FORMWORK_SMTP_TIMEOUT=5,
    )
    return smtp_server


# ---- Webhook ------------------------------------------------------------------------------


class WebhookReceiver:
    """A local robot URL: records each JSON post and answers like a WeCom group robot."""

    def __init__(self):
        self.posts: list[dict] = []
        self.answer: dict = {"errcode": 0, "errmsg": "ok"}
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                receiver.posts.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "json": json.loads(self.rfile.read(length) or b"null"),
                    }
                )
                body = json.dumps(receiver.answer).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/cgi-bin/webhook/send?key=test"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


# ---- Records ------------------------------------------------------------------------------


@pytest.fixture
def make_record(app, demo_org):
    """``make_record(owner="alice", title=...) -> Record``: a submitted expense claim, committed."""
    from formwork.definitions import loader, store
    from formwork.extensions import db
    from formwork.records.models import Record

    state: dict = {}

    def _make(owner: str = "alice", title: str = "Customer visit", status: str = "in_review") -> Record:
        if "version" not in state:
            document = loader.read_source(
                ROOT / "definitions" / "forms" / "expense_claim.yaml", "expense_claim.yaml"
            )
            state["version"], _ = store.publish(document.content, source="expense_claim.yaml")
        version = state["version"]
        user = demo_org[owner]
        record = Record(
            form_key="expense_claim",
            definition_id=version.id,
            form_version=version.version,
            data={"reason": title},
            status=status,
            title=title,
            owner_id=user.id,
            department_id=user.department_id,
        )
        db.session.add(record)
        db.session.commit()
        return record

    return _make


@pytest.fixture
def smtp_tools():
    """``(SmtpServer, free_port)`` for tests that start a server late or on a chosen port."""
    started: list[SmtpServer] = []

    class _Factory(SmtpServer):
        def start(self):
            started.append(self)
            return super().start()

    yield _Factory, free_port
    for server in started:
        server.stop()
