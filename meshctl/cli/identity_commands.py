"""``mesh identity ...``: people's keys. ``create`` makes one; ``list`` shows who is registered."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from meshctl.cli._help import OneLineSummaries
from meshctl.cli._output import (
    JsonOption,
    RootOption,
    console,
    emit_json,
    open_policy_mesh,
    plain,
    user_errors,
)

identity_app = typer.Typer(cls=OneLineSummaries, help="People's keys: create yours, list who is registered.", no_args_is_help=True)


@identity_app.command("create")
def create(email: Annotated[str, typer.Argument(help="Your e-mail address.")]) -> None:
    """Create your Ed25519 key pair: the private key stays owner-only in your identity folder
    (MESH_IDENTITY, or your config folder); register the printed public key in mesh.toml."""
    from governance.identity import create_identity, identity_folder, normalize_email

    with user_errors():
        public = create_identity(email)
    who = normalize_email(email)
    console.print(f"created the key of {plain(who)} in {identity_folder()} (owner-only).\n"
                  "Ask the council to register it in mesh.toml:\n", highlight=False)
    console.print(escape(f'[people."{who}"]\npublic_key = "{public}"'), highlight=False)


@identity_app.command("list")
def list_people(root: RootOption = None, as_json: JsonOption = False) -> None:
    """People registered in mesh.toml [people], whether the council approved it, and whether this machine holds their key."""
    from governance.identity import fingerprint, held_public_key

    with user_errors():
        mesh = open_policy_mesh(root)
        people = [(email, person, True) for email, person in mesh.policy.people.items()] \
            + [(email, person, False) for email, person in mesh.policy.pending_people.items()]
        rows = [{"person": email, "fingerprint": fingerprint(person.public_key), "approved": approved,
                 "held here": held_public_key(email) == person.public_key}
                for email, person, approved in sorted(people, key=lambda p: (p[0], not p[2]))]
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} registered people (identity provider: {mesh.policy.identity.provider})")
    for col in ("person", "fingerprint", "approved", "held here"):
        table.add_column(col)
    for r in rows:
        table.add_row(plain(str(r["person"])), str(r["fingerprint"]),
                      "yes" if r["approved"] else "waiting for the council (mesh policy status)",
                      "yes" if r["held here"] else "-")
    console.print(table)
