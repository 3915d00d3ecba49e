"""``[state]`` is council-approved trust: it names the database that holds the audit log (where
the council's first approval is anchored), the run history and the revoked grants. An edit of it
by hand, a database of one's own with an empty log and revocation table, takes effect only when
the council approves it; until then the mesh acts on the approved ``[state]``, and a ``[state]``
the council never approved (its approvals hold none) stops every command but the council's own.
A mesh without ``[state]`` keeps the digest its approvals signed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from governance.access import active_grant
from assets.errors import ConfigError
from governance.access.revocations import forget_revocations
from governance.audit import audit_log_at
from governance.audit.database import DatabaseLogStorage
from governance.council import TRUST_APPROVED, approve_trust, read_approvals
from governance.identity import LocalIdentity, identity_provider
from governance.policy import TRUST_SECTIONS, digest_of, load_policy, trust_snapshot
from governance.policy.trust import snapshot_of
from governance.services import governed
from governance.state import state_database
from governance.state.database import dispose_engines
from governance.wiring import load_mesh, load_policy_mesh
from meshctl.cli import app

TODAY = dt.date.today()
COUNCIL = "council@acme.example"
#: The example's grant of customers.customers to sales (mesh.toml).
GRANT = "g-f7420363"
ELSEWHERE = 'sqlite:///elsewhere.sqlite'


def mesh(root: Path, *args: str) -> tuple[int, str]:
    """Run the CLI on the mesh at ``root``; its exit code and everything it printed, on one line."""
    result = CliRunner().invoke(app, [*args, "--root", str(root)], env={"COLUMNS": "300"})
    return result.exit_code, " ".join(result.output.split())


def add_state(root: Path, url: str) -> None:
    with open(root / "mesh.toml", "a", encoding="utf-8") as fh:
        fh.write(f'\n[state]\nurl = "{url}"\n')


def approve(root: Path) -> bool:
    """The council signs mesh.toml's trust, proven with the trust the mesh acts on."""
    loaded = load_mesh(root, domains=(), approving=True)
    people = {e: p.public_key for e, p in loaded.policy.people.items()}
    return approve_trust(loaded.policy, governed(loaded).audit, actor=identity_provider(loaded.policy).authenticate(
        COUNCIL), signer=LocalIdentity(people=people)).approved


def old_digest(raw: dict[str, object]) -> str:
    """The digest approvals signed before [state] was trust: the four sections and the owners."""
    domains = raw.get("domains")
    owners = {n: t.get("owners") for n, t in domains.items() if isinstance(t, dict)} if isinstance(domains, dict) else {}
    snapshot = {**{name: raw.get(name, {}) for name in TRUST_SECTIONS}, "owners": owners}
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_a_state_database_named_by_hand_is_not_used_so_a_revoked_grant_stays_revoked(example_root: Path) -> None:
    """The insider deletes the local audit log and points [state] at an empty database of their own
    (a copy of the signed mesh.toml, the revoked grant in it): nothing acts on that database, nor
    on another than mesh.toml names; the council's commands show the change, and taking it out
    again finds the revocation where it was."""
    signed = (example_root / "mesh.toml").read_text()
    code, out = mesh(example_root, "access", "revoke", GRANT, "--as", COUNCIL)
    assert code == 0, out
    (example_root / "mesh.toml").write_text(signed)
    shutil.rmtree(example_root / ".mesh" / "audit")
    add_state(example_root, ELSEWHERE)
    forget_revocations()

    with pytest.raises(ConfigError, match="which the council has not approved") as refused:
        load_policy_mesh(example_root)
    assert "mesh policy approve --as EMAIL" in (refused.value.fix or "")
    for command in (("access", "list", "--json"), ("check",), ("audit", "verify")):
        code, out = mesh(example_root, *command)
        assert code != 0 and "Traceback" not in out, (command, out)
        assert "which the council has not approved" in out and "mesh policy approve --as EMAIL" in out, (command, out)
    code, out = mesh(example_root, "policy", "status")
    assert code == 0, (code, out)
    assert "changes pending" in out and "state: the default" in out and f"-> {ELSEWHERE}" in out, out
    assert "re-approval" in out and "mesh policy approve --as EMAIL" in out, out
    assert not (example_root / "elsewhere.sqlite").exists(), "the database the edit names is never opened"

    (example_root / "mesh.toml").write_text(signed)  # the edit taken out: the approved state, as it was
    acting = load_policy_mesh(example_root).policy
    assert acting.state.url is None
    assert active_grant(acting, "customers.customers", "sales", TODAY) is None, "mesh.sqlite still holds the revocation"
    code, out = mesh(example_root, "access", "list", "--json")
    assert code == 0 and {g["id"]: g["status"] for g in json.loads(out)}[GRANT] == "revoked", out


def test_a_new_host_looks_the_anchor_up_in_the_approved_state_not_in_the_one_the_edit_names(
        example_root: Path) -> None:
    """A host that never acted on the approvals reads the first one from the audit log: the
    approved [state]'s, which holds it, never the empty one an edit of [state] names."""
    add_state(example_root, ELSEWHERE)
    (example_root / ".mesh" / "state" / "council.json").unlink()
    with pytest.raises(ConfigError, match="which the council has not approved"):  # not the anchor's error
        load_policy_mesh(example_root)
    assert (example_root / ".mesh" / "state" / "council.json").exists(), "the host now remembers the approvals"
    assert not (example_root / "elsewhere.sqlite").exists()


def test_a_state_change_the_council_approves_takes_effect_and_a_new_host_finds_the_anchor_there(
        example_root: Path) -> None:
    add_state(example_root, "sqlite:///shared/state.sqlite")
    with pytest.raises(ConfigError, match="which the council has not approved"):
        load_policy_mesh(example_root)
    assert approve(example_root)
    moved = load_policy_mesh(example_root)
    assert moved.policy.state.url == "sqlite:///shared/state.sqlite"
    log = governed(moved).audit
    assert isinstance(log.storage, DatabaseLogStorage)
    approvals = [r for r in log.records() if r.action == TRUST_APPROVED]
    assert len(approvals) == 2, "the database's log holds the first approval (imported) and this one"
    assert [a.digest for a in read_approvals(example_root)] == [r.details["digest"] for r in approvals]
    code, out = mesh(example_root, "policy", "status")
    assert code == 0 and "trust: approved" in out, out

    # a new host: no memory of the approvals, no audit folder; the anchor is in the approved database
    dispose_engines()
    (example_root / ".mesh" / "state" / "council.json").unlink()
    shutil.rmtree(example_root / ".mesh" / "audit")
    assert load_policy_mesh(example_root).policy.state.url == "sqlite:///shared/state.sqlite"

    # taking [state] out again is a change of trust too
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(text.replace('\n[state]\nurl = "sqlite:///shared/state.sqlite"\n', "\n"))
    assert load_policy_mesh(example_root).policy.state.url == "sqlite:///shared/state.sqlite"
    code, out = mesh(example_root, "policy", "status")
    assert "state: sqlite:///shared/state.sqlite -> the default" in out, out


def test_the_digest_holds_state_only_when_mesh_toml_has_a_state_table(example_root: Path) -> None:
    """An approval of a mesh without [state] (the example's, `make demo`'s) keeps verifying."""
    raw = tomllib.loads((example_root / "mesh.toml").read_text())
    assert "state" not in raw
    [line] = read_approvals(example_root)
    assert line.digest == old_digest(raw) == digest_of(trust_snapshot(load_policy(example_root)))
    assert digest_of(snapshot_of({**raw, "state": {}})) == old_digest(raw), "an empty [state] is the default"
    named = {**raw, "state": {"url": "sqlite:///shared/state.sqlite"}}
    assert digest_of(snapshot_of(named)) != old_digest(named), "a [state] with a url is trust"
    assert load_policy_mesh(example_root).policy.state.url is None


def test_a_mesh_with_state_and_an_approval_from_before_is_told_to_approve_once(example_root: Path) -> None:
    """A mesh that had [state] url before [state] was trust: its approvals do not cover it. Every
    command says so and what to run, without a traceback; one approval puts it back in effect."""
    add_state(example_root, "sqlite:///shared/state.sqlite")
    written = load_policy(example_root)
    audit_log_at(example_root / ".mesh", database=state_database(written)).records()  # ran on it: log imported

    code, out = mesh(example_root, "check")
    assert code != 0 and "the approval predates [state] being council-approved trust" in out, out
    assert "mesh policy approve --as EMAIL" in out, out
    code, out = mesh(example_root, "materialize", "sales.orders")
    assert code != 0 and "Traceback" not in out and "which the council has not approved" in out, out
    assert not (example_root / ".mesh" / "state" / "mesh.sqlite").exists(), "never moved to the default state"
    code, out = mesh(example_root, "policy", "status")
    assert "needs this one re-approval" in out and "mesh policy approve --as EMAIL" in out, out

    # a host that never acted on the approvals, without the audit folder the database imported
    dispose_engines()
    memory = (example_root / ".mesh" / "state" / "council.json").read_bytes()
    (example_root / ".mesh" / "state" / "council.json").unlink()
    shutil.move(example_root / ".mesh" / "audit", example_root / "audit.moved")
    code, out = mesh(example_root, "check")
    assert code != 0 and "Traceback" not in out, out
    assert "approved [state]" in out and "mesh policy approve --as EMAIL" in out and "once" in out, out

    # on a host that acted on them, the council approves [state] once
    shutil.move(example_root / "audit.moved", example_root / ".mesh" / "audit")
    (example_root / ".mesh" / "state" / "council.json").write_bytes(memory)
    code, out = mesh(example_root, "policy", "approve", "--as", COUNCIL)
    assert code == 0 and "approved: in effect now" in out, out
    code, out = mesh(example_root, "policy", "status")
    assert code == 0 and "trust: approved" in out, out
    in_database = audit_log_at(example_root / ".mesh", database=state_database(written)).records()
    assert sum(r.action == TRUST_APPROVED for r in in_database) == 2, "the re-approval is in the database's log"
    dispose_engines()
    (example_root / ".mesh" / "state" / "council.json").unlink()
    shutil.rmtree(example_root / ".mesh" / "audit")
    assert load_policy_mesh(example_root).policy.state.url == "sqlite:///shared/state.sqlite"  # a new host too
