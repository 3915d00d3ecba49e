"""``kind = "file"``: each message one JSON line appended to a file (the example mesh's default)."""

from __future__ import annotations

import os
from pathlib import Path

from assets.named_files import NotRegularFile, open_regular
from governance.alerts.message import AlertMessage
from governance.alerts.notifiers.base import NotifierError
from governance.policy.alerts import FileNotifierConfig


#: How the file is opened (through :func:`open_regular`: never through a symbolic link, to
#: /etc/passwd as root, and never waiting on a FIFO that no one reads).
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT


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
            fd = open_regular(self.path, _APPEND, 0o640)
            try:
                os.write(fd, line)  # one write of one line: concurrent writers do not interleave
            finally:
                os.close(fd)
        except NotRegularFile as exc:
            raise NotifierError(f"cannot append to {self.path}: it is {exc.strerror}", where=f"notifier {self.name}",
                                fix="move it aside (mv it to a .bak name); the next message makes the file") from None
        except OSError as exc:
            raise NotifierError(f"cannot append to {self.path}: {exc.strerror}", where=f"notifier {self.name}",
                                fix="check the folder exists and is writable") from None
