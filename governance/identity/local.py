"""The embedded default identity provider: one Ed25519 key pair per person.

``mesh identity create EMAIL`` writes the private key owner-only (0600, in a 0700 folder) to
the identity folder and prints the public key; the council registers it in ``mesh.toml``::

    [people."council@acme.example"]
    public_key = "ed25519:..."

To act, ``--as EMAIL`` (or ``MESH_USER``) only *selects* which held key acts: the provider signs
a fresh random challenge with it and verifies the signature with the key registered in
``[people]``. Naming someone whose key this machine does not hold proves nothing and is refused.

The identity folder is ``$MESH_IDENTITY`` if set, else ``<user config dir>/acme-mesh/identities``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from assets.emails import is_email, normalize_email
from assets.errors import MeshError, did_you_mean
from governance.identity.actor import Actor
from governance.identity.errors import IdentityError
from governance.identity.keys import (
    fingerprint,
    parse_public_key,
    public_key_text,
    signature_text,
)

if TYPE_CHECKING:
    from governance.keys.local import LocalKeyStore

APP_NAME = "acme-mesh"
_SUFFIX = ".ed25519"


def identity_folder() -> Path:
    """Where private keys of people are held: ``$MESH_IDENTITY``, else the user's config folder."""
    configured = os.environ.get("MESH_IDENTITY")
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "identities"


def _email(text: str | None, action: str, *, named: str = "--as YOUR-EMAIL") -> str:
    """``text`` as an e-mail address; ``named`` is how the command takes it, for the fix."""
    if text is None or not text.strip():
        raise IdentityError("nobody was named", where=action,
                            fix=f"pass {named} or set MESH_USER to the person whose key you hold")
    email = normalize_email(text)
    if not is_email(email):
        raise IdentityError(f"{str(text)[:80]!r} is not an e-mail address", where=action,
                            fix=f"pass {named}, like 'team@acme.example'")
    return email


def _store(folder: Path | None) -> LocalKeyStore:
    from governance.keys.local import (
        LocalKeyStore,  # imported here: governance.keys imports the policy layer
    )

    return LocalKeyStore(folder if folder is not None else identity_folder())


#: The longest key file name kept readable; longer ones (a long address, escaped) are hashed, as
#: a file name may not pass 255 bytes.
_MAX_READABLE_NAME = 200


def _file_name(email: str) -> str:
    name = quote(email, safe="@.+-_") + _SUFFIX
    if len(name.encode()) <= _MAX_READABLE_NAME:
        return name
    return "sha256-" + hashlib.sha256(email.encode()).hexdigest() + _SUFFIX


def _held_key(store: LocalKeyStore, email: str) -> Ed25519PrivateKey | None:
    name = _file_name(email)
    if not store.exists(name):
        return None
    from governance.keys.local import ed25519_private_key

    try:
        return ed25519_private_key(store.read_secret(name))
    except MeshError as exc:
        raise IdentityError(exc.what, where=exc.where, fix=exc.fix) from None
    except ValueError as exc:
        raise IdentityError(f"the key file of '{email}' is not an Ed25519 private key: {exc}",
                            where=str(store.folder / name),
                            fix=f"move it away and run `mesh identity create {email}`") from None


def create_identity(email: str, folder: Path | None = None) -> str:
    """Create ``email``'s key pair in the identity folder; returns the public key text to register.

    Refuses to replace a key already held (signatures made with it would stop counting).
    """
    address = _email(email, "mesh identity create", named="your e-mail address (mesh identity create EMAIL)")
    store = _store(folder)
    existing = _held_key(store, address)
    if existing is not None:
        raise IdentityError(f"a key of '{address}' is already held", where=str(store.folder / _file_name(address)),
                            fix=f"keep it: its public key is {public_key_text(existing)}; to replace it, move the "
                                "file away first (approvals it signed then stop counting)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if not store.create_secret(_file_name(address), pem):
        raise IdentityError(f"a key of '{address}' was created meanwhile", where=str(store.folder),
                            fix="use that key; run the command once")
    return public_key_text(key)


def held_public_key(email: str, folder: Path | None = None) -> str | None:
    """The public key text of ``email``'s key held in the folder, or ``None``."""
    key = _held_key(_store(folder), _email(email, "identity"))
    return None if key is None else public_key_text(key)


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalIdentity:
    """The ``local`` provider: people prove a key registered in ``mesh.toml`` ``[people]``.

    ``people`` maps each normalised e-mail to its registered public key text (as the council
    approved it); ``folder`` holds the private keys (default :func:`identity_folder`, resolved
    when used). ``pending`` maps the people ``mesh.toml`` registers (or registers with another
    key) whose registration the council has not approved yet to that key, so that they are told
    the truth when they act: registered, waiting for approval by ``approvers`` (the holders of
    ``approve_policy``, ``quorum`` of whom must sign).
    """

    kind: ClassVar[str] = "local"
    people: Mapping[str, str] = field(default_factory=dict)
    folder: Path | None = None
    pending: Mapping[str, str] = field(default_factory=dict)
    approvers: tuple[str, ...] = ()
    quorum: int = 1

    def authenticate(self, claimed: str | None) -> Actor:
        """The actor ``claimed`` names, once their held key has signed a fresh challenge that
        verifies with their registered key. Refuses with :class:`IdentityError` otherwise."""
        email = _email(claimed, "authenticate")
        key, registered = self._key_of(email, "act")
        challenge = secrets.token_bytes(32)
        public = parse_public_key(registered, where=f'mesh.toml [people."{email}"].public_key')
        try:
            public.verify(key.sign(challenge), challenge)
        except InvalidSignature:
            raise self._mismatch(email, key, registered) from None
        return Actor(id=email, method="ed25519", evidence=f"key {fingerprint(registered)}")

    def sign(self, email: str, payload: bytes) -> str:
        """Sign ``payload`` with ``email``'s held key, refused unless it is the registered key."""
        address = _email(email, "sign")
        key, _ = self._key_of(address, "sign")
        return signature_text(key.sign(payload))

    def _key_of(self, email: str, action: str) -> tuple[Ed25519PrivateKey, str]:
        people = {normalize_email(k): v for k, v in self.people.items()}
        registered = people.get(email)
        waiting = {normalize_email(k): v for k, v in self.pending.items()}.get(email)
        if registered is None and waiting is not None:
            raise self._awaiting_approval(email, action, "registration")
        if registered is None:
            raise IdentityError(
                f"'{email}' is not registered in mesh.toml [people], so cannot {action}",
                where=f"{action} as {email}",
                fix=f"run `mesh identity create {email}` and ask the council to add the printed public key to "
                    f'mesh.toml as [people."{email}"] public_key = "..." ' + did_you_mean(email, people))
        parse_public_key(registered, where=f'mesh.toml [people."{email}"].public_key')
        store = _store(self.folder)
        key = _held_key(store, email)
        if key is None:
            raise IdentityError(
                f"this machine holds no key of '{email}' (looked in {store.folder}), so cannot {action} as them",
                where=f"{action} as {email}",
                fix=f"act as yourself (--as YOUR-EMAIL); if you are {email}, set MESH_IDENTITY to the folder "
                    "holding your key, or run `mesh identity create` on a new machine and have the council "
                    "register the new public key")
        if public_key_text(key) != registered:
            if waiting is not None and public_key_text(key) == waiting:
                raise self._awaiting_approval(email, action, "new public key")
            raise self._mismatch(email, key, registered)
        return key, registered

    def _awaiting_approval(self, email: str, action: str, what: str) -> IdentityError:
        """The refusal of someone whose ``what`` mesh.toml [people] holds but the council has not approved."""
        approvers = ", ".join(sorted(self.approvers)) or "nobody yet (ask the council to give a role approve_policy)"
        return IdentityError(
            f"'{email}' is registered in mesh.toml [people], but the {what} is waiting for the council's approval, "
            f"so cannot {action} yet", where=f"{action} as {email}",
            fix=f"run `mesh policy status` to see what is pending and who has signed; the holders of approve_policy "
                f"({approvers}) approve it with `mesh policy approve --as EMAIL` ({self.quorum} signature(s) needed)")

    @staticmethod
    def _mismatch(email: str, key: Ed25519PrivateKey, registered: str) -> IdentityError:
        held = public_key_text(key)
        return IdentityError(
            f"the key held for '{email}' ({fingerprint(held)}) is not the one registered in mesh.toml "
            f"({fingerprint(registered)})", where=f'[people."{email}"].public_key',
            fix=f"use the folder holding the registered key (MESH_IDENTITY), or ask the council to register "
                f"your current public key: {held}")
