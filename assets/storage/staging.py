"""Staging folders: where a version is written before it is visible, and which are leftovers.

A staging folder is named ``<version>-<random>-<host>.<pid>`` so a later publisher can tell
whose it is. It is a leftover (its writer was killed) when its writer ran on this host and that
process is gone, or, whoever wrote it, when nothing in it changed for the grace period.
Leftovers count in the storage quota until removed; the next publish of the asset removes
them, and so does ``mesh gc`` for every asset. Object stores write a version in its own folder
and name the writer in a file there; :mod:`assets.storage.leftovers` applies the same rule.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid

#: A staging folder untouched this long is a leftover, whoever wrote it.
GRACE_SECONDS = 6 * 3600.0


def staging_name(version: str) -> str:
    """The name of a new staging folder for ``version``, written by this process."""
    return f"{version}-{uuid.uuid4().hex[:8]}-{writer_id()}"


def writer_id() -> str:
    """``<host>.<pid>`` of this process: who writes a staging folder (or holds a lease)."""
    return f"{_host()}.{os.getpid()}"


def writer_gone(writer: str) -> bool:
    """Whether ``writer`` (a :func:`writer_id`) is provably gone: a process of this host that
    no longer runs. A writer on another host is never provably gone."""
    host, _, pid = writer.strip().partition(".")
    return host == _host() and pid.isdigit() and not _alive(int(pid))


def is_leftover(folder: str, grace_seconds: float = GRACE_SECONDS) -> bool:
    """Whether the local staging folder ``folder`` belongs to no live writer (see the module
    docstring). A folder that vanished meanwhile is not a leftover."""
    try:
        age = time.time() - _last_change(folder)
    except FileNotFoundError:
        return False
    return age >= grace_seconds or writer_gone(os.path.basename(folder.rstrip("/")).rsplit("-", 1)[-1])


def _last_change(folder: str) -> float:
    """The newest modification time of the folder and the files in it."""
    times = [os.stat(folder).st_mtime]
    for entry in os.scandir(folder):
        try:
            times.append(entry.stat(follow_symlinks=False).st_mtime)
        except FileNotFoundError:
            continue
    return max(times)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
