"""Register people's public keys in ``mesh.toml`` ``[people]``: the council's step after a person
ran ``mesh identity create`` and sent them the printed public key."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import tomlkit

from assets.emails import is_email, normalize_email
from governance.identity.errors import IdentityError
from governance.identity.keys import fingerprint, is_public_key_text


def register_people(mesh_file: Path, keys: Mapping[str, str]) -> list[str]:
    """Add ``[people."<email>"] public_key`` for each entry of ``keys`` (e-mail -> public key text),
    editing ``mesh_file`` in place. Returns the addresses added; one already registered with the
    same key is left as it is, one registered with another key is refused (replacing a key is a
    rotation: the council edits it by hand, and that person's old signatures stop counting)."""
    from governance.policy.editing import (
        edit_mesh_toml,  # the policy layer sits below identity
    )

    wanted: dict[str, str] = {}
    for name, public_key in keys.items():
        email = normalize_email(name)
        if not is_email(email):
            raise IdentityError(f"{name!r} is not an e-mail address", where="register people",
                                fix="register people by their e-mail address")
        if not is_public_key_text(public_key):
            raise IdentityError(f"the public key of '{email}' is not 'ed25519:<base64 of 32 bytes>'",
                                where="register people", fix=f"use the line `mesh identity create {email}` printed")
        wanted[email] = public_key
    added: list[str] = []
    with edit_mesh_toml(mesh_file) as doc:
        people = doc.get("people")
        if people is None:
            people = tomlkit.table(is_super_table=True)
            doc["people"] = people
        registered = {normalize_email(str(k)): v.get("public_key") for k, v in people.items()}
        for email, public_key in wanted.items():
            if email in registered:
                if registered[email] != public_key:
                    raise IdentityError(
                        f"'{email}' is already registered with another key ({fingerprint(str(registered[email]))})",
                        where=f'{mesh_file.name} [people."{email}"]',
                        fix="to rotate the key, replace public_key by hand; their approvals must then be signed again")
                continue
            entry = tomlkit.table()
            entry["public_key"] = public_key
            people[email] = entry
            added.append(email)
    return added
