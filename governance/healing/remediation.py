"""The shape of a remediation, the unit of the runbook.

Plug-in contract: a remediation has a ``name`` and two methods. ``find(mesh, now)`` looks
(reads only, changes nothing) and returns a :class:`Finding` per problem, each saying what it
found, what would be done and why. ``fix(mesh, finding, actor)`` does it once, as ``actor``, and
returns one line saying what it did; it raises when it did not work (the runbook tries again
within its bounds, then counts the failure against the breaker). A finding with ``fixable``
false is reported and left (a failed gate is never healed by publishing). A remediation with
``retry_in_pass = False`` is tried once per pass (it keeps its own back-off between passes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from assets.errors import MeshError
from assets.mesh import Mesh
from governance.identity import Actor


class RemediationError(MeshError):
    """A remediation's fix did not work: what failed, on which subject, and what a person can do."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A problem a remediation found on ``subject`` (an asset key, ``lineage outbox``)."""

    remediation: str
    subject: str
    found: str
    action: str
    why: str
    fixable: bool = True
    facts: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.remediation and self.subject and self.found and self.action):
            raise ValueError("a finding names its remediation, subject, what was found and what to do")


class Remediation(Protocol):
    """One automatic remediation. See the module docstring."""

    name: str

    def find(self, mesh: Mesh, now: dt.datetime) -> list[Finding]: ...

    def fix(self, mesh: Mesh, finding: Finding, actor: Actor) -> str: ...
