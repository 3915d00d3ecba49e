"""Which identity provider a mesh uses, built once from ``mesh.toml`` ``[identity]``.

The plug-in contract: a provider has a ``kind`` (the ``[identity].provider`` value that picks
it), is a frozen dataclass validated on construction, and has one method,
``authenticate(claimed) -> Actor``, which either returns an authenticated :class:`Actor` or
raises :class:`IdentityError`. ``claimed`` is what ``--as`` / ``MESH_USER`` says; it only
selects or cross-checks, it never proves anything by itself.

- ``local`` (default): per-person Ed25519 keys registered in ``[people]`` (:mod:`.local`).
- ``oidc``: tokens of an OpenID Connect issuer (:mod:`.oidc`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from governance.identity.actor import Actor
from governance.identity.errors import IdentityError
from governance.identity.jwks import MAX_AGE_SECONDS, IssuerKeys
from governance.identity.local import LocalIdentity
from governance.identity.oidc import OidcIdentity
from governance.policy.roles import approvers_with
from governance.policy.trust import APPROVE_POLICY

if TYPE_CHECKING:
    from governance.policy import MeshPolicy

PROVIDERS = ("local", "oidc")


@runtime_checkable
class IdentityProvider(Protocol):
    """Establishes who acts. See the module docstring for the contract."""

    @property
    def kind(self) -> str: ...

    def authenticate(self, claimed: str | None) -> Actor: ...


def issuer_keys(policy: MeshPolicy) -> IssuerKeys:
    """The keys of the OpenID Connect issuer ``policy.identity`` names, fetched at most once per
    its ``jwks_refetch_seconds``."""
    settings = policy.identity
    if settings.issuer is None:
        raise IdentityError("no OpenID Connect issuer is set", where="[identity].issuer",
                            fix='write provider = "oidc" and issuer = "https://login.acme.example"')
    return IssuerKeys(settings.issuer, settings.jwks_url, refetch_seconds=settings.jwks_refetch_seconds,
                      max_age_seconds=max(MAX_AGE_SECONDS, settings.jwks_refetch_seconds))


def local_identity(policy: MeshPolicy, *, folder: Path | None = None) -> LocalIdentity:
    """The ``local`` provider of ``policy``'s people (the approved ones), told who is registered but
    waiting for the council's approval and who may approve it."""
    return LocalIdentity(people={email: p.public_key for email, p in policy.people.items()}, folder=folder,
                         pending={email: p.public_key for email, p in policy.pending_people.items()},
                         approvers=tuple(sorted(approvers_with(policy, APPROVE_POLICY))),
                         quorum=policy.council.quorum)


def identity_provider(policy: MeshPolicy, *, folder: Path | None = None, token: str | None = None,
                      keys: IssuerKeys | None = None) -> IdentityProvider:
    """The provider ``policy.identity`` chooses. ``folder`` (local keys) and ``token`` (oidc)
    override ``$MESH_IDENTITY`` and ``$MESH_TOKEN``, which are read when authenticating; ``keys``
    (oidc) are the issuer's keys to share with other providers (else :func:`issuer_keys`'s own)."""
    settings = policy.identity
    if settings.provider == "local":
        return local_identity(policy, folder=folder)
    if settings.provider == "oidc":
        assert settings.issuer is not None and settings.audience is not None  # checked by IdentitySettings
        return OidcIdentity(issuer=settings.issuer, audience=settings.audience, jwks_url=settings.jwks_url,
                            email_claim=settings.email_claim, token=token, keys=keys or issuer_keys(policy))
    raise IdentityError(f"unknown identity provider '{settings.provider}'", where="[identity].provider",
                        fix=f"use one of {', '.join(PROVIDERS)}")
