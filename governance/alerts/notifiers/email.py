"""``kind = "email"``: a plain-text message over SMTP (the standard library's smtplib), with
STARTTLS or TLS from the start when configured, and a login whose password is read from the
environment."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from governance.alerts.message import AlertMessage
from governance.alerts.notifiers.base import NotifierError, redact, secret_from
from governance.policy.alerts import EmailNotifierConfig


class EmailNotifier:
    """Sends each message to the configured recipients."""

    kind = "email"

    def __init__(self, config: EmailNotifierConfig) -> None:
        self.name = config.name
        self.config = config

    def compose(self, message: AlertMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self.config.sender
        mail["To"] = ", ".join(self.config.to)
        mail["X-Mesh-Incident"] = str(message.incident)
        mail.set_content("\n".join(message.lines()) + "\n")
        return mail

    def send(self, message: AlertMessage) -> None:
        c = self.config
        password = secret_from(c.password_env, f"[alerts.notifiers.{self.name}].password_env") \
            if c.password_env else None
        try:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_seconds,
                                                  context=ssl.create_default_context()) if c.ssl \
                else smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds)
            with smtp:
                if c.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if c.username is not None and password is not None:
                    smtp.login(c.username, password)
                smtp.send_message(self.compose(message))
        except (OSError, smtplib.SMTPException) as exc:
            raise NotifierError(f"e-mail notifier {self.name} failed: {type(exc).__name__}: "
                                f"{redact(str(exc), password)[:200]}", where=f"{c.host}:{c.port}",
                                fix="check the SMTP server, and the login in mesh.toml and the environment") from None
