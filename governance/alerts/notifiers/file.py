"""``kind = "file"``: each message one JSON line appended to a file (the example mesh's default)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from assets.storage.filesystem import NotRegularFile, require_regular
from governance.alerts.message import AlertMessage
from governance.alerts.notifiers.base import NotifierError
from governance.policy.alerts import FileNotifierConfig


#: How the file is opened to append: never through a symbolic link (to /etc/passwd, as root) and
#: without waiting (a FIFO blocks its writer until a reader comes; with O_NONBLOCK it is ENXIO).
_OPEN_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

#: What the file is, by the errno of that open: a link, a FIFO no one reads, a folder.
_REFUSED = {errno.ELOOP: "a symbolic link", errno.ENXIO: "a FIFO", errno.EISDIR: "a folder"}


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
            fd = os.open(self.path, _OPEN_APPEND, 0o640)
            try:
                require_regular(os.fstat(fd), str(self.path))
                os.write(fd, line)  # one write of one line: concurrent writers do not interleave
            finally:
                os.close(fd)
        except NotRegularFile as exc:
            raise NotifierError(f"cannot append to {self.path}: it is {exc.strerror}", where=f"notifier {self.name}",
                                fix="move it aside (mv it to a .bak name); the next message makes the file") from None
        except OSError as exc:
            if (what := _REFUSED.get(exc.errno or 0)) is not None:
                raise NotifierError(f"cannot append to {self.path}: it is {what}, not a regular file",
                                    where=f"notifier {self.name}",
                                    fix="move it aside (mv it to a .bak name); the next message makes the file") from None
            raise NotifierError(f"cannot append to {self.path}: {exc.strerror}", where=f"notifier {self.name}",
                                fix="check the folder exists and is writable") from None
