"""The notifier interface and its error (see :mod:`governance.alerts.notifiers`)."""

from __future__ import annotations

import os
from typing import Protocol

from assets.errors import MeshError
from governance.alerts.message import AlertMessage


class NotifierError(MeshError):
    """A notifier could not deliver a message now (down, refused, misconfigured)."""


class Notifier(Protocol):
    """Delivers alert messages to one destination."""

    name: str
    kind: str

    def send(self, message: AlertMessage) -> None: ...


def secret_from(variable: str, where: str) -> str:
    """The value of the environment variable ``variable`` that ``where`` names; never shown."""
    value = os.environ.get(variable)
    if not value:
        raise NotifierError(f"the environment variable {variable} that {where} names is not set", where=where,
                            fix=f"export {variable} in the environment of the mesh's processes (never in mesh.toml)")
    return value


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
