"""Grant requests in the state database when ``[state] url`` names one: pending requests and
their signed approvals are shared by every host, two approvers at once both count, and the
approval that completes a request writes it to mesh.toml, once."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from governance.access import active_grant
from governance.access.requests import GRANTED, GrantRequests, grant_requests_of
from governance.access.workflow import approve_grant, request_grant, revoke_grant
from governance.identity import Actor, LocalIdentity, identity_provider
from governance.policy import MeshPolicy, load_policy
from governance.services import governed
from governance.state.database import dispose_engines
from governance.wiring import load_policy_mesh
from meshctl.cli import app
from tests.conftest import copy_example_mesh, name_state

PRODUCT, CONSUMER = "customers.customers", "marketing"


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_root(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    url = "sqlite:///shared/state.sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    root = copy_example_mesh(tmp_path / "mesh")
    name_state(root, url)  # approved by the council: [state] is trust
    return root


def as_person(policy: MeshPolicy, email: str) -> Actor:
    return identity_provider(policy).authenticate(email)


def signer(policy: MeshPolicy) -> LocalIdentity:
    return LocalIdentity(people={e: p.public_key for e, p in policy.people.items()})


def requested(root: Path) -> str:
    mesh = load_policy_mesh(root)
    return request_grant(mesh.policy, governed(mesh).audit, product=PRODUCT, consumer=CONSUMER, purpose="mailing",
                         requester=as_person(mesh.policy, "marketing-data@acme.example"),
                         expires=dt.date.today() + dt.timedelta(days=30), visibility="restricted")


def _approve(root: str, grant_id: str, who: str, start: object) -> None:
    mesh = load_policy_mesh(root)
    start.wait()  # type: ignore[attr-defined]
    approve_grant(mesh.policy, governed(mesh).audit, grant_id=grant_id, approver=as_person(mesh.policy, who),
                  signer=signer(mesh.policy))


def test_a_request_waits_in_the_database_and_its_last_approval_writes_it_to_mesh_toml(shared_root: Path) -> None:
    before = (shared_root / "mesh.toml").read_text()
    grant_id = requested(shared_root)
    assert (shared_root / "mesh.toml").read_text() == before  # the request is in the database, not the file
    listed = json.loads(CliRunner().invoke(app, ["access", "list", "--json", "--root", str(shared_root)]).stdout)
    assert [(g["id"], g["status"]) for g in listed if g["id"] == grant_id] == [(grant_id, "pending")]
    policy = load_policy(shared_root)
    missing = approve_grant(policy, governed(load_policy_mesh(shared_root)).audit, grant_id=grant_id,
                            approver=as_person(policy, "customers-data@acme.example"), signer=signer(policy))
    assert missing and "approve_grant" in missing[0]
    assert (shared_root / "mesh.toml").read_text() == before
    [pending] = grant_requests_of(policy).pending()  # type: ignore[union-attr]
    assert pending.approved_by == ("customers-data@acme.example",)
    done = CliRunner().invoke(app, ["access", "approve", grant_id, "--as", "council@acme.example",
                                    "--root", str(shared_root)])
    assert done.exit_code == 0 and "is active" in done.stdout, done.output
    policy = load_policy(shared_root)
    granted = active_grant(policy, PRODUCT, CONSUMER, dt.date.today())
    assert granted is not None and granted.id == grant_id
    assert set(granted.signatures) == {"customers-data@acme.example", "council@acme.example"}
    assert grant_requests_of(policy).pending() == []  # type: ignore[union-attr]
    listed = json.loads(CliRunner().invoke(app, ["access", "list", "--json", "--root", str(shared_root)]).stdout)
    assert [g["status"] for g in listed if g["id"] == grant_id] == ["active"]  # once, from mesh.toml
    trail = [(r.action, r.outcome) for r in governed(load_policy_mesh(shared_root)).audit.query(target=PRODUCT)]
    assert trail == [("grant_request", "pending"), ("grant_approve", "pending"), ("grant_approve", "active")]


def test_two_approvers_at_once_both_count_and_the_grant_is_written_once(shared_root: Path) -> None:
    grant_id = requested(shared_root)
    dispose_engines()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    approvers = [context.Process(target=_approve, args=(str(shared_root), grant_id, who, start))
                 for who in ("customers-data@acme.example", "council@acme.example")]
    for p in approvers:
        p.start()
    for p in approvers:
        p.join(120)
    assert [p.exitcode for p in approvers] == [0, 0]
    policy = load_policy(shared_root)
    assert [g.id for g in policy.grants].count(grant_id) == 1
    assert active_grant(policy, PRODUCT, CONSUMER, dt.date.today()) is not None
    requests = grant_requests_of(policy)
    assert isinstance(requests, GrantRequests)
    with requests.database.read() as conn:
        from sqlalchemy import select

        from governance.state.schema import grant_requests
        assert conn.execute(select(grant_requests.c.state)).scalars().all() == [GRANTED]


def test_a_revoked_request_is_withdrawn(shared_root: Path) -> None:
    grant_id = requested(shared_root)
    mesh = load_policy_mesh(shared_root)
    revoke_grant(mesh.policy, governed(mesh).audit, grant_id=grant_id,
                 actor=as_person(mesh.policy, "council@acme.example"))
    assert grant_requests_of(mesh.policy).pending() == []  # type: ignore[union-attr]
    assert grant_id not in {g.id for g in load_policy(shared_root).grants}


def test_a_granted_then_revoked_grant_pasted_back_is_refused_on_every_host(shared_root: Path) -> None:
    """The revocation is in the shared database: a host whose mesh.toml still holds the entry
    (not pulled yet, or reverted) refuses it once it loads its policy again."""
    grant_id = requested(shared_root)
    for who in ("customers-data@acme.example", "council@acme.example"):
        policy = load_policy(shared_root)
        approve_grant(policy, governed(load_policy_mesh(shared_root)).audit, grant_id=grant_id,
                      approver=as_person(policy, who), signer=signer(policy))
    granted = (shared_root / "mesh.toml").read_text()
    policy = load_policy(shared_root)
    nonce = next(g.nonce for g in policy.grants if g.id == grant_id)
    assert active_grant(policy, PRODUCT, CONSUMER, dt.date.today()) is not None
    mesh = load_policy_mesh(shared_root)
    revoke_grant(mesh.policy, governed(mesh).audit, grant_id=grant_id,
                 actor=as_person(mesh.policy, "council@acme.example"))
    (shared_root / "mesh.toml").write_text(granted)
    assert active_grant(load_policy(shared_root), PRODUCT, CONSUMER, dt.date.today()) is None
    with grant_requests_of(policy).database.read() as conn:  # type: ignore[union-attr]
        from sqlalchemy import select

        from governance.state.schema import revoked_grants
        rows = conn.execute(select(revoked_grants.c.id, revoked_grants.c.nonce, revoked_grants.c.revoked_by)).all()
    assert [tuple(r) for r in rows] == [(grant_id, nonce, "council@acme.example")]


def test_a_request_row_edited_by_hand_is_one_line_naming_it(tmp_path: Path) -> None:
    """`mesh access list` read a request's expiry date with SQLAlchemy's date type: text that is
    no date, written into the state database by hand, stopped it with a ValueError from inside
    SQLAlchemy; a product that is no asset key was blamed on mesh.toml's [[grants]][0]. Both are
    now one line naming the request and the fix."""
    import sqlite3

    root = copy_example_mesh(tmp_path / "mesh")
    name_state(root, "sqlite:///shared/state.sqlite")
    grant_id = requested(root)
    for column, value in (("expires", ""), ("product", "5")):
        with sqlite3.connect(root / "shared" / "state.sqlite") as db:
            db.execute(f"UPDATE grant_requests SET {column} = ?", (value,))
        listed = CliRunner().invoke(app, ["access", "list", "--root", str(root)])
        assert listed.exit_code == 1 and isinstance(listed.exception, SystemExit), listed.exception
        assert f"grant request {grant_id} is not one the mesh wrote" in listed.output, listed.output
        assert "[[grants]]" not in listed.output and "Fix:" in listed.output
        with sqlite3.connect(root / "shared" / "state.sqlite") as db:
            db.execute("UPDATE grant_requests SET expires = ?, product = ?", (str(dt.date.today()), PRODUCT))
