"""Telling a write that found no room (a full disk, a quota, a file-size limit) from other
failures, and saying so in words a user acts on: which file, and to free space."""

from __future__ import annotations

import errno

#: The errors of a write that found no room: a full disk, a user's quota, a file-size limit.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) is a write that found no room."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS:
            return True
        seen = seen.__cause__
    return False


def disk_full_reason(exc: BaseException) -> str:
    """``"the disk is full (ENOSPC: No space left on device)"``, or the quota's or the file-size
    limit's words, for an error :func:`is_disk_full` accepts."""
    seen: BaseException | None = exc
    while seen is not None and not (isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS):
        seen = seen.__cause__
    if not isinstance(seen, OSError) or seen.errno is None:
        return "the disk is full"
    code = f"{errno.errorcode[seen.errno]}: {seen.strerror}"
    if seen.errno == errno.EDQUOT:
        return f"the disk quota is used up ({code})"
    if seen.errno == errno.EFBIG:
        return f"the file is past the process's size limit ({code})"
    return f"the disk is full ({code})"
