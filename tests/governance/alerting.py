"""Real local servers for the alert tests: an HTTP server for webhooks (stopped and started
again to make an outage), an SMTP server (aiosmtpd), and a mesh whose clock the test moves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import tomlkit
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from assets import Mesh, Services
from governance.wiring import load_mesh
from meshctl.local_airflow import free_port

START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves: ``clock()`` is now, ``clock.advance(minutes=5)`` moves it."""

    def __init__(self, at: dt.datetime = START) -> None:
        self.now = at

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def clocked(root: Path, clock: Clock, *, policy_only: bool = True) -> Mesh:
    """The mesh at ``root`` (without domain code when ``policy_only``) on ``clock``."""
    base = load_mesh(root, domains=() if policy_only else None)

    def wiring(mesh: Mesh) -> Services:
        return dataclasses.replace(base.wiring(mesh), clock=clock)

    return dataclasses.replace(base, wiring=wiring)


def with_alerts(root: Path, alerts: dict[str, Any]) -> None:
    """Replace ``[alerts]`` of the mesh at ``root``."""
    document = tomlkit.parse((root / "mesh.toml").read_text())
    document["alerts"] = alerts
    (root / "mesh.toml").write_text(tomlkit.dumps(document))


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append({"path": self.path, "body": json.loads(body)})  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


class WebhookServer:
    """An HTTP server on loopback that keeps what is POSTed; ``stop()`` and ``start()`` again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T000/B000/s3cr3t-token"

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Hook)
        server.received = self.received  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def webhook_server() -> Iterator[WebhookServer]:
    server = WebhookServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(*, user: str = "mesh", password: str = "smtp-pass") -> Iterator[tuple[int, list[Message]]]:
    """An SMTP server (aiosmtpd) on loopback that takes a login of ``user``/``password``."""

    def authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password
        return AuthResult(success=ok)

    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        yield port, mailbox.messages
    finally:
        controller.stop()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files in ``folder``)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@contextmanager
def starttls_smtp_server(folder: Path) -> Iterator[tuple[int, Path, list[Message]]]:
    """An SMTP server that requires STARTTLS, with a self-signed certificate (returned, to trust)."""
    import ssl

    cert_file, key_file = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
    controller.start()
    try:
        yield port, cert_file, mailbox.messages
    finally:
        controller.stop()
