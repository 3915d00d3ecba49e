"""Notifiers: where an alert goes. One module per kind, like the OpenLineage client's transports.

Plug-in contract: a notifier is built from its validated configuration
(:mod:`governance.policy.alerts`) and the mesh's folder, has a ``name`` and a ``kind``, and one
method, ``send(message)``, that delivers one :class:`~governance.alerts.message.AlertMessage`
or raises :class:`NotifierError` saying why, without any secret (a webhook's URL, a password).
Secrets are read from the environment when a message is sent, never kept in the configuration.
"""

from __future__ import annotations

from pathlib import Path

from governance.alerts.notifiers.base import Notifier, NotifierError
from governance.alerts.notifiers.email import EmailNotifier
from governance.alerts.notifiers.file import FileNotifier
from governance.alerts.notifiers.webhook import WebhookNotifier, slack_payload
from governance.policy.alerts import (
    EmailNotifierConfig,
    FileNotifierConfig,
    NotifierConfig,
    WebhookNotifierConfig,
)


def notifier_for(config: NotifierConfig, root: Path) -> Notifier:
    """The notifier ``config`` describes, for the mesh whose folder is ``root``."""
    if isinstance(config, FileNotifierConfig):
        return FileNotifier(config, root)
    if isinstance(config, WebhookNotifierConfig):
        return WebhookNotifier(config)
    if isinstance(config, EmailNotifierConfig):
        return EmailNotifier(config)
    raise TypeError(f"no notifier for {type(config).__name__}")


__all__ = ["EmailNotifier", "FileNotifier", "Notifier", "NotifierError", "WebhookNotifier", "notifier_for",
           "slack_payload"]
