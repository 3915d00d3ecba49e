"""Which stored files were already verified against their manifest, so each is hashed once.

A file is identified by its URL, the checksum it was checked against, and a stamp of its
state: size, modification time and, on a local filesystem, inode (an object store gives size
and ETag or modification time). Rewriting, replacing or touching the file changes the stamp,
so the next read hashes it again. The memory is per process and bounded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

#: (file URL, expected checksum, stamp of the file's state)
Entry = tuple[str, str, Hashable]


class VerifiedFiles:
    """A bounded, thread-safe set of (file, checksum, stamp) found to match, oldest dropped first."""

    def __init__(self, capacity: int = 65536) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self._entries: OrderedDict[Entry, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, entry: Entry) -> bool:
        with self._lock:
            if entry not in self._entries:
                return False
            self._entries.move_to_end(entry)
            return True

    def remember(self, entry: Entry) -> None:
        with self._lock:
            self._entries[entry] = None
            self._entries.move_to_end(entry)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: The process-wide memory every :class:`~assets.storage.VersionStore` shares.
VERIFIED = VerifiedFiles()
