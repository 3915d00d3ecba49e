"""A person registered in mesh.toml [people] whose registration the council has not approved yet
is told the truth when they act: registered, waiting for the council, how to see what is pending
and who may approve it (never "not registered")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from governance.identity import create_identity, held_public_key, identity_provider
from governance.identity.errors import IdentityError
from governance.identity.people import register_people
from governance.wiring import load_policy_mesh
from meshctl.cli import app
from tests.conftest import COUNCIL, approve_example_trust, copy_example_mesh

NEWCOMER = "newcomer@acme.example"


def _key(email: str, folder: Path) -> str:
    return held_public_key(email, folder) or create_identity(email, folder)


@pytest.fixture
def pending_root(tmp_path: Path, mesh_identities: Path) -> Path:
    """The approved example mesh with NEWCOMER registered by hand, not approved yet."""
    root = copy_example_mesh(tmp_path / "mesh")
    register_people(root / "mesh.toml", {NEWCOMER: _key(NEWCOMER, mesh_identities)})
    return root


def test_a_registered_person_awaiting_approval_is_told_so_with_who_approves(pending_root: Path) -> None:
    policy = load_policy_mesh(pending_root).policy
    with pytest.raises(IdentityError) as refused:
        identity_provider(policy).authenticate(NEWCOMER)
    text = str(refused.value)
    assert "not registered" not in text
    assert "registered in mesh.toml [people]" in text and "waiting for the council's approval" in text
    assert "mesh policy status" in text and "mesh policy approve" in text and COUNCIL in text


def test_the_cli_tells_them_in_one_line_and_audits_the_refusal(pending_root: Path) -> None:
    out = CliRunner().invoke(app, ["audit", "query", "--as", NEWCOMER, "--root", str(pending_root)],
                             env={"COLUMNS": "400"})
    assert out.exit_code != 0
    assert "waiting for the council's approval" in out.output and "mesh policy status" in out.output
    assert "not registered" not in out.output and "Traceback" not in out.output


def test_once_the_council_approves_they_act(pending_root: Path) -> None:
    approve_example_trust(pending_root)
    assert identity_provider(load_policy_mesh(pending_root).policy).authenticate(NEWCOMER).id == NEWCOMER


def test_someone_not_in_the_file_is_still_not_registered(pending_root: Path) -> None:
    with pytest.raises(IdentityError, match="not registered"):
        identity_provider(load_policy_mesh(pending_root).policy).authenticate("stranger@acme.example")


def test_a_new_key_awaiting_approval_is_named_as_such(tmp_path: Path, mesh_identities: Path) -> None:
    """The council rotates a person's key by editing [people]; until approved, the new key is pending."""
    root = copy_example_mesh(tmp_path / "mesh")
    register_people(root / "mesh.toml", {NEWCOMER: _key(NEWCOMER, mesh_identities)})
    approve_example_trust(root)
    fresh = tmp_path / "new-laptop"
    fresh.mkdir(mode=0o700)
    new_key = create_identity(NEWCOMER, fresh)
    text = (root / "mesh.toml").read_text()
    (root / "mesh.toml").write_text(text.replace(_key(NEWCOMER, mesh_identities), new_key))
    policy = load_policy_mesh(root).policy
    with pytest.raises(IdentityError, match="new public key is waiting for the council's approval"):
        identity_provider(policy, folder=fresh).authenticate(NEWCOMER)


def test_a_signed_web_request_of_a_person_awaiting_approval_is_told_so(pending_root: Path) -> None:
    """The web app's read API: signed with the key mesh.toml registers, checked against the approved trust."""
    from governance.identity import RequestAuthenticator, sign_request
    from governance.policy import load_policy

    url = "http://mesh.acme.example:8765/api/products/sales.orders"
    headers = sign_request(load_policy(pending_root), NEWCOMER, "GET", url)  # as written: the key is there
    server = RequestAuthenticator(load_policy_mesh(pending_root).policy)  # acts on the approved trust
    with pytest.raises(IdentityError, match="waiting for the council's approval") as refused:
        server.authenticate({"Host": "mesh.acme.example:8765", **headers}, "GET", "/api/products/sales.orders")
    assert "mesh policy status" in str(refused.value)


def test_a_web_request_naming_a_waiting_person_without_their_key_learns_nothing(pending_root: Path) -> None:
    """Only the holder of the waiting registration's key is told it waits: a request that names
    them with another key's signature is refused as any unknown signer is."""
    from governance.identity import RequestAuthenticator, sign_request
    from governance.policy import load_policy

    url = "http://mesh.acme.example:8765/api/products/sales.orders"
    policy = load_policy(pending_root)
    forged = {**sign_request(policy, COUNCIL, "GET", url), "X-Mesh-User": NEWCOMER}
    server = RequestAuthenticator(load_policy_mesh(pending_root).policy)
    with pytest.raises(IdentityError, match="not registered") as refused:
        server.authenticate({"Host": "mesh.acme.example:8765", **forged}, "GET", "/api/products/sales.orders")
    assert "waiting" not in str(refused.value)


def test_mesh_identity_list_shows_the_registration_waiting(pending_root: Path) -> None:
    listed = CliRunner().invoke(app, ["identity", "list", "--json", "--root", str(pending_root)])
    assert listed.exit_code == 0, listed.output
    rows = {r["person"]: r for r in json.loads(listed.stdout)}
    assert rows[NEWCOMER]["approved"] is False and rows[NEWCOMER]["held here"] is True
    assert rows[COUNCIL]["approved"] is True
    table = CliRunner().invoke(app, ["identity", "list", "--root", str(pending_root)], env={"COLUMNS": "300"})
    assert "waiting for the council" in table.stdout
