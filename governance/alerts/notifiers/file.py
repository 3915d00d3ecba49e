"""``kind = "file"``: each message one JSON line appended to a file (the example mesh's default)."""

from __future__ import annotations

import os
from pathlib import Path

from governance.alerts.message import AlertMessage
from governance.alerts.notifiers.base import NotifierError
from governance.policy.alerts import FileNotifierConfig


class FileNotifier:
    """Appends each message to ``path`` (relative to the mesh's folder) as one line of JSON."""

    kind = "file"

    def __init__(self, config: FileNotifierConfig, root: Path) -> None:
        self.name = config.name
        self.path = Path(config.path) if Path(config.path).is_absolute() else root / config.path

    def send(self, message: AlertMessage) -> None:
        line = (message.to_json() + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line)  # one write of one line: concurrent writers do not interleave
            finally:
                os.close(fd)
        except OSError as exc:
            raise NotifierError(f"cannot append to {self.path}: {exc.strerror}", where=f"notifier {self.name}",
                                fix="check the folder exists and is writable") from None
