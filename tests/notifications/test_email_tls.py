"""Mail over STARTTLS with a login, against a real SMTP server whose certificate the test makes."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from gnomon.notifications import DeliveryError, SmtpConfig, SmtpTls, send_email
from tests.conftest import skip_or_fail
from tests.notifications.receivers import EphemeralController, MailHandler

USER, PASSWORD = "gnomon", "s3cret"


class Logins:
    """aiosmtpd authenticator: accepts one user, remembers who logged in."""

    def __init__(self) -> None:
        self.users: list[str] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        ):
            self.users.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, trusted by this test's default TLS context."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = [
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout", str(key), "-out", str(cert),
    ]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        skip_or_fail(f"openssl could not make a test certificate: {exc}")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[MailHandler, Logins, int]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    handler, logins = MailHandler(), Logins()
    controller = EphemeralController(
        handler,
        hostname="127.0.0.1",
        port=0,
        tls_context=context,
        require_starttls=True,
        authenticator=logins,
        auth_require_tls=True,
    )
    controller.start()
    yield handler, logins, controller.port
    controller.stop()


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = (
        "Process failed: nightly",
        "gnomon@localhost",
        "ops@example.com",
    )
    mail.set_content("nightly failed")
    return mail


def test_starttls_and_login(tls_server: tuple[MailHandler, Logins, int]) -> None:
    handler, logins, port = tls_server
    config = SmtpConfig(
        host="localhost", port=port, tls=SmtpTls.STARTTLS, username=USER, password=PASSWORD
    )
    assert send_email(config, message()) == {}
    assert logins.users == [USER]
    assert [m.message["Subject"] for m in handler.messages] == ["Process failed: nightly"]


def test_wrong_password_is_a_delivery_error(tls_server: tuple[MailHandler, Logins, int]) -> None:
    handler, _, port = tls_server
    config = SmtpConfig(
        host="localhost", port=port, tls=SmtpTls.STARTTLS, username=USER, password="no"
    )
    with pytest.raises(DeliveryError):
        send_email(config, message())
    assert handler.messages == []


def test_plain_connection_is_refused_by_a_server_requiring_tls(
    tls_server: tuple[MailHandler, Logins, int],
) -> None:
    handler, _, port = tls_server
    with pytest.raises(DeliveryError):
        send_email(SmtpConfig(host="localhost", port=port), message())
    assert handler.messages == []
