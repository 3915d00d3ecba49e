"""The authenticated actor: who acts, and how they proved it.

An :class:`Actor` exists only after a provider has checked a proof (a held key, a token, or
the run a service identity acts in). E-mail addresses are compared only after
:func:`normalize_email`, so ``Council@Acme.example`` and ``council@acme.example`` are one person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assets.emails import is_email, normalize_email
from governance.identity.errors import IdentityError

#: How an actor proved who they are.
METHODS = frozenset({"ed25519", "oidc", "service"})
SERVICE_PREFIX = "service:"
_DOMAIN = re.compile(r"^[a-z][a-z0-9_]*\Z")
_MAX_EVIDENCE = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """An authenticated actor.

    ``id`` is a normalised e-mail address, or ``service:<domain>``; ``method`` is one of
    ``ed25519``, ``oidc``, ``service``; ``evidence`` is a short, non-secret description of the
    proof (a key fingerprint, ``issuer=<iss> sub=<sub>``, ``airflow dag=<id> run=<id>``).
    """

    id: str
    method: str
    evidence: str

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise IdentityError(f"unknown authentication method '{self.method}'", where=f"actor {self.id!r}",
                                fix=f"use one of {', '.join(sorted(METHODS))}")
        if self.method == "service":
            domain = self.id.removeprefix(SERVICE_PREFIX)
            if not self.id.startswith(SERVICE_PREFIX) or not _DOMAIN.match(domain):
                raise IdentityError(f"'{self.id}' is not a service identity", where="service actor",
                                    fix="write service:<domain>, like service:sales")
        elif not is_email(self.id) or normalize_email(self.id) != self.id:
            raise IdentityError(f"'{self.id}' is not a normalised e-mail address", where=f"{self.method} actor",
                                fix="build the actor with normalize_email(address)")
        if not self.evidence or len(self.evidence) > _MAX_EVIDENCE or not self.evidence.isprintable():
            raise IdentityError(f"the evidence of '{self.id}' is empty, too long or not printable",
                                where=f"{self.method} actor",
                                fix=f"describe the proof in one short line (at most {_MAX_EVIDENCE} characters)")

    @classmethod
    def service(cls, domain: str, evidence: str) -> Actor:
        """The service identity of ``domain`` (``service:<domain>``), e.g. for an Airflow task run."""
        return cls(id=f"{SERVICE_PREFIX}{domain}", method="service", evidence=evidence)

    @property
    def is_person(self) -> bool:
        return self.method != "service"
