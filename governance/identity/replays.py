"""The signed requests a server has accepted recently, so that none is accepted twice.

A signature is remembered from the moment it is accepted for ``window`` seconds (twice the
clock skew a timestamp may have: past that its timestamp is refused anyway). The memory is
bounded by ``limit``, and the bound never reopens replays: when every remembered signature is
still unexpired, a new signed request is refused (:class:`ReplayMemoryFullError`, the server's
503) rather than one forgotten. Only expired signatures are ever dropped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from assets.errors import MeshError
from governance.identity.errors import IdentityError

#: How many unexpired signatures a server remembers by default.
DEFAULT_LIMIT = 10_000


class ReplayMemoryFullError(MeshError):
    """The server remembers as many unexpired signed requests as it may, and takes no new one
    until the oldest expire. ``first`` is true for the first refusal since it filled up."""

    def __init__(self, what: str, *, where: str = "", fix: str = "", first: bool = False) -> None:
        super().__init__(what, where=where, fix=fix)
        self.first = first


@dataclass(slots=True)
class SeenSignatures:
    """Signatures accepted in the last ``window`` seconds, at most ``limit`` (module docstring)."""

    window: float
    limit: int = DEFAULT_LIMIT
    _seen: OrderedDict[bytes, float] = field(default_factory=OrderedDict, init=False, repr=False)
    _full: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"a replay memory of {self.limit} signatures cannot accept any request")

    def admit(self, signature: bytes, now: float) -> None:
        """Remember ``signature`` accepted at ``now``; raise :class:`IdentityError` if it was
        accepted before, or :class:`ReplayMemoryFullError` if no unexpired one may be forgotten."""
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - self.window:
                self._seen.popitem(last=False)
            if signature in self._seen:
                raise IdentityError("this signed request was sent before (a replay)", where="X-Mesh-Signature",
                                    fix="sign each request anew")
            if len(self._seen) >= self.limit:
                first, self._full = not self._full, True
                raise ReplayMemoryFullError(
                    f"the server remembers {self.limit} signed requests of the last {self.window:.0f} s, as many as "
                    "it may to refuse their replays, and takes no new one until the oldest expire", first=first,
                    where="signed requests", fix=f"send the request again in a minute; if this load is expected, "
                                                 f"the operator raises the replay memory (now {self.limit})")
            self._full = False
            self._seen[signature] = now

    def __len__(self) -> int:
        return len(self._seen)
