"""Who sends an HTTP request to the mesh's web app: the same identities the CLI proves.

- ``local`` provider: the person signs the request with their Ed25519 key (the one
  ``mesh identity create`` made and ``[people]`` registers). Three headers carry it:
  ``X-Mesh-User`` (e-mail), ``X-Mesh-Timestamp`` (Unix seconds) and ``X-Mesh-Signature``
  (``ed25519:...`` over :func:`request_payload`: the mesh's name, method, host, path with
  query, timestamp). A signature is accepted once, within :data:`MAX_SKEW_SECONDS` of the
  server's clock, by the mesh it names at the host it names: a request signed for one mesh is
  refused by another that registers the same person and key.
- ``oidc`` provider: ``Authorization: Bearer <ID token>``, checked exactly as ``MESH_TOKEN``,
  against the issuer's keys the authenticator keeps (:mod:`governance.identity.jwks`).

Anything else is refused with :class:`IdentityError`; no message contains a token or signature.
A server whose replay memory is full of unexpired signatures refuses new signed requests with
:class:`~governance.identity.replays.ReplayMemoryFullError` (503), never by forgetting one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from assets.emails import is_email, normalize_email
from governance.identity.actor import Actor
from governance.identity.errors import IdentityError
from governance.identity.jwks import IssuerKeys
from governance.identity.keys import fingerprint, is_signature_text, verify_text
from governance.identity.provider import identity_provider, issuer_keys, local_identity
from governance.identity.replays import DEFAULT_LIMIT, SeenSignatures
from governance.policy.key_texts import SIGNATURE_BYTES, decoded_key_text

if TYPE_CHECKING:
    from governance.policy import MeshPolicy

USER_HEADER = "X-Mesh-User"
TIMESTAMP_HEADER = "X-Mesh-Timestamp"
SIGNATURE_HEADER = "X-Mesh-Signature"
#: How far a request's timestamp may be from the server's clock.
MAX_SKEW_SECONDS = 300
#: How long an accepted signature is remembered: past it, its timestamp is refused anyway.
REPLAY_WINDOW_SECONDS = 2 * MAX_SKEW_SECONDS


def replay_memory(limit: int = DEFAULT_LIMIT) -> SeenSignatures:
    """A memory of accepted signatures for :class:`RequestAuthenticator`, of at most ``limit``."""
    return SeenSignatures(window=REPLAY_WINDOW_SECONDS, limit=limit)


def request_payload(mesh: str, method: str, host: str, target: str, timestamp: int) -> bytes:
    """The bytes a person signs: ``mesh`` is the name in ``mesh.toml`` ``[mesh]``, ``host`` the
    request's ``Host`` (:func:`canonical_host`), ``target`` the path with its query string, as sent."""
    return f"acme-mesh request v2\n{mesh}\n{method.upper()}\n{canonical_host(host)}\n{target}\n{timestamp}".encode()


def canonical_host(host: str) -> str:
    """``host`` as both sides compare it: lower case, without a default port (``:80``, ``:443``),
    which clients leave out of the ``Host`` header."""
    host = host.strip().lower()
    for port in (":80", ":443"):
        if host.endswith(port):
            return host.removesuffix(port)
    return host


def sign_request(policy: MeshPolicy, email: str, method: str, url: str, *, folder: Path | None = None,
                 now: float | None = None) -> dict[str, str]:
    """The headers that prove ``email`` sends ``method url`` to the mesh ``policy`` describes,
    signed with their held key. ``url`` is the whole address the request goes to, as sent:
    scheme, host (and port), path and query (``http://127.0.0.1:8765/api/products/x?format=arrow``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise IdentityError(f"'{url[:200]}' is not the whole address of a request", where="sign_request",
                            fix="pass the URL the request is sent to, with its scheme and host "
                                "(http://127.0.0.1:8765/api/products/...)")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    stamp = int(time.time() if now is None else now)
    signer = local_identity(policy, folder=folder)
    address = normalize_email(email)
    payload = request_payload(policy.settings.name, method, parts.netloc.rpartition("@")[2], target, stamp)
    return {USER_HEADER: address, TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signer.sign(address, payload)}


def _is_seconds(stamp: str) -> bool:
    """Whether ``stamp`` is Unix seconds as :func:`sign_request` writes them: at most 12 ASCII
    digits (``str.isdigit`` alone accepts ``'²'``, and ``int`` refuses thousands of digits)."""
    return len(stamp) <= 12 and stamp.isascii() and stamp.isdigit()


@dataclass(slots=True)
class RequestAuthenticator:
    """Authenticates requests for one mesh policy; ``seen`` remembers the signatures of the last
    :data:`REPLAY_WINDOW_SECONDS` to refuse replays (:mod:`governance.identity.replays`: a full
    memory refuses new requests, never forgets one). A server passes the same ``seen`` to the
    authenticator of a reloaded policy, so a reload reopens no replay."""

    policy: MeshPolicy
    seen: SeenSignatures = field(default_factory=lambda: replay_memory(DEFAULT_LIMIT), repr=False)
    #: The hosts (``name:port``) this server answers as; a signed request for any other is refused,
    #: so a request signed for one server is not replayed at another of the same mesh. Empty:
    #: any (an app mounted inside Airflow's UI, whose hosts Airflow's proxy decides).
    hosts: frozenset[str] = frozenset()
    _keys: IssuerKeys | None = field(default=None, init=False, repr=False)

    def authenticate(self, headers: Mapping[str, str], method: str, target: str, *,
                     now: float | None = None) -> Actor:
        """The actor who sent the request, or :class:`IdentityError` saying what is missing.
        ``headers`` are the request's, its ``Host`` among them; ``target`` its path and query."""
        lowered = {k.lower(): v for k, v in headers.items()}
        if self.policy.identity.provider == "oidc":
            return self._bearer(lowered)
        return self._signed(lowered, method, target, time.time() if now is None else now)

    def _bearer(self, headers: Mapping[str, str]) -> Actor:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise IdentityError("the request carries no bearer token", where="Authorization header",
                                fix="send 'Authorization: Bearer <your ID token>' (the token MESH_TOKEN holds)")
        if self._keys is None:  # one for every request: an unknown kid refetches the keys sparingly
            self._keys = issuer_keys(self.policy)
        return identity_provider(self.policy, token=token.strip(), keys=self._keys).authenticate(None)

    def _signed(self, headers: Mapping[str, str], method: str, target: str, now: float) -> Actor:
        user, stamp, signature = (headers.get(h.lower(), "") for h in (USER_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
        if not (user and stamp and signature):
            raise IdentityError("the request is not signed", where="request headers",
                                fix=f"send {USER_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} "
                                    "(governance.identity.sign_request makes them with your key)")
        email = normalize_email(user)
        person = {normalize_email(e): p for e, p in self.policy.people.items()}.get(email)
        if is_email(email) and person is None and self._signed_by_pending(email, method, headers, target, stamp, signature):
            raise IdentityError("the signer is registered in mesh.toml [people], but the registration is waiting for "
                                "the council's approval", where=USER_HEADER,
                                fix="run `mesh policy status` to see what is pending; holders of approve_policy "
                                    "approve it with `mesh policy approve --as EMAIL`")
        if not is_email(email) or person is None:
            raise IdentityError("the signer is not registered in mesh.toml [people]", where=USER_HEADER,
                                fix="ask the council to register your public key")
        if not _is_seconds(stamp) or abs(now - int(stamp)) > MAX_SKEW_SECONDS:
            raise IdentityError(f"the request's timestamp is not within {MAX_SKEW_SECONDS} s of the server's clock",
                                where=TIMESTAMP_HEADER, fix="sign the request again now, and check the clocks")
        host = headers.get("host", "")
        if self.hosts and canonical_host(host) not in self.hosts:
            raise IdentityError(f"the request is for host {canonical_host(host)[:100]!r}, which this server is not "
                                f"({', '.join(sorted(self.hosts))})", where="Host header",
                                fix="send it to the server it was signed for (its operator names the server's "
                                    "hosts with `mesh serve --public-host`)")
        payload = request_payload(self.policy.settings.name, method, host, target, int(stamp))
        if not is_signature_text(signature) or not verify_text(person.public_key, payload, signature):
            raise IdentityError(f"the signature is not '{email}''s registered key's, for this request to mesh "
                                f"'{self.policy.settings.name}'", where=SIGNATURE_HEADER,
                                fix=f"sign exactly the method and URL (host, path and query) you send, for mesh "
                                    f"'{self.policy.settings.name}' (governance.identity.sign_request)")
        # by the signature's bytes: base64 has several texts for the same 64 bytes (the last
        # character's unused bits), each of which verifies
        self.seen.admit(decoded_key_text(signature, SIGNATURE_BYTES) or b"", now)
        return Actor(id=email, method="ed25519", evidence=f"key {fingerprint(person.public_key)}, signed request")

    def _signed_by_pending(self, email: str, method: str, headers: Mapping[str, str], target: str, stamp: str,
                           signature: str) -> bool:
        """Whether ``email`` is registered but not yet approved and signed this request with that
        registration's key: only then is the signer told the registration waits for the council
        (anyone else learns nothing of who is waiting)."""
        pending = self.policy.pending_people.get(email)
        if pending is None or not _is_seconds(stamp) or not is_signature_text(signature):
            return False
        payload = request_payload(self.policy.settings.name, method, headers.get("host", ""), target, int(stamp))
        return verify_text(pending.public_key, payload, signature)
