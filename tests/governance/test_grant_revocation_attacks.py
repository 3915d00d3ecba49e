"""Attacks on grant revocation, as an insider who can edit mesh.toml, the files under .mesh and run
the CLI as themselves, but holds nobody else's private key: the revoked set kept in the state
database is checked against the audit log's `grant_revoke` records (a row deleted by hand does
not bring a grant back, and `mesh check` names the tampering), a revoked id is never approved
again, and hostile ids are short one-line errors."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from governance.access import active_grant
from governance.access.revocations import forget_revocations
from governance.audit import AuditEvent, AuditLog
from governance.audit.storage import AuditError
from governance.keys import LocalKeyStore
from governance.council import approve_trust
from governance.identity import LocalIdentity, identity_provider
from governance.identity.approvals import payload_of
from governance.policy import PolicyErrors, load_policy
from governance.services import governed
from governance.wiring import load_policy_mesh
from governance.state.database import dispose_engines
from meshctl.cli import app
from tests.conftest import name_state

TODAY = dt.date.today()
COUNCIL, CUSTOMERS, SALES = "council@acme.example", "customers-data@acme.example", "sales-data@acme.example"
#: The example's grant of customers.customers to sales (mesh.toml).
GRANT = "g-f7420363"


def mesh(root: Path, *args: str) -> tuple[int, str]:
    """Run the CLI on the mesh at ``root``; its exit code and everything it printed."""
    result = CliRunner().invoke(app, [*args, "--root", str(root)])
    return result.exit_code, result.output


def revoke_and_paste_back(root: Path) -> str:
    """The council revokes the example's grant to sales; its signed entry is pasted back into
    mesh.toml. Returns the text of mesh.toml as signed."""
    signed = (root / "mesh.toml").read_text()
    code, out = mesh(root, "access", "revoke", GRANT, "--as", COUNCIL)
    assert code == 0, out
    (root / "mesh.toml").write_text(signed)
    return signed


def statuses(root: Path) -> dict[str, str]:
    code, out = mesh(root, "access", "list", "--json")
    assert code == 0, out
    return {g["id"]: g["status"] for g in json.loads(out)}


def tamper(root: Path, statement: str, *parameters: str) -> None:
    """What an insider with the state folder can do: change `revoked_grants` by hand. What this
    process read of it is forgotten, as a new process (the next command or task) starts."""
    with sqlite3.connect(root / ".mesh" / "state" / "mesh.sqlite") as db:
        db.execute(statement, parameters)
    forget_revocations()


def delete_revocations(root: Path) -> None:
    tamper(root, "DELETE FROM revoked_grants")


# -- the state database tampered with -------------------------------------------------------------

def test_revocations_deleted_from_the_state_database_do_not_bring_the_grant_back(example_root: Path) -> None:
    revoke_and_paste_back(example_root)
    assert statuses(example_root)[GRANT] == "revoked"
    delete_revocations(example_root)

    assert active_grant(load_policy(example_root), "customers.customers", "sales", TODAY) is None, \
        "the audit log's grant_revoke record keeps it revoked"
    assert statuses(example_root)[GRANT] == "revoked"
    code, out = mesh(example_root, "check")
    assert code != 0, out
    text = " ".join(out.split())
    assert f"grant {GRANT} was revoked by {COUNCIL}" in text, text
    assert "revoked_grants" in text and "audit log" in text and "Fix:" in text, text


def test_a_revocation_row_edited_to_hold_no_time_is_one_line_naming_it(example_root: Path) -> None:
    """The state database's revocations and the audit log's are ordered by time (the first of a
    grant counts): a row edited to another nonce and a revoked_at of bytes stopped `mesh access
    list` (and every access decision) with a TypeError comparing bytes with text; it is now one
    line naming the revocation and the fix, and grants nothing meanwhile."""
    revoke_and_paste_back(example_root)
    tamper(example_root, "UPDATE revoked_grants SET nonce = ?, revoked_at = ?", "0" * 32, b"\xff\xfe")
    listed = CliRunner().invoke(app, ["access", "list", "--root", str(example_root)])
    assert listed.exit_code == 1 and isinstance(listed.exception, SystemExit), listed.exception
    text = " ".join(listed.output.split())
    assert f"the revocation of grant {GRANT} is not one the mesh wrote (its revoked_at is bytes, not text)" in text
    assert "Fix:" in text and "Traceback" not in text, text


def test_a_state_database_deleted_whole_does_not_bring_a_revoked_grant_back(example_root: Path) -> None:
    revoke_and_paste_back(example_root)
    dispose_engines()  # a new process: none of this one's connections to the file it deletes
    for path in (example_root / ".mesh" / "state").glob("mesh.sqlite*"):
        path.unlink()
    forget_revocations()
    assert active_grant(load_policy(example_root), "customers.customers", "sales", TODAY) is None
    assert statuses(example_root)[GRANT] == "revoked"


def test_a_revocation_row_edited_to_another_nonce_does_not_bring_the_grant_back(example_root: Path) -> None:
    revoke_and_paste_back(example_root)
    tamper(example_root, "UPDATE revoked_grants SET nonce = ?", "0" * 32)
    assert active_grant(load_policy(example_root), "customers.customers", "sales", TODAY) is None


def test_the_grant_revoke_record_cut_from_the_audit_log_too_is_reported_by_audit_verify(example_root: Path) -> None:
    """Deleting both copies of the revocation is what the audit log's chain and signed heads catch."""
    revoke_and_paste_back(example_root)
    delete_revocations(example_root)
    log = example_root / ".mesh" / "audit" / "audit.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(line for line in lines if b'"action":"grant_revoke"' not in line))
    code, out = mesh(example_root, "audit", "verify")
    assert code != 0, out


# -- the audit log's grant_revoke records, found without parsing the rest -------------------------

def test_records_of_finds_exactly_the_records_of_an_action_across_1_mib_reads(tmp_path: Path) -> None:
    """Records of several KiB each, so lines straddle the 1 MiB reads; a `details` text that holds
    the action's line start is no record of it."""
    log = AuditLog(tmp_path / "audit", LocalKeyStore(tmp_path / "keys").signing_key("audit.pem"),
                   checkpoint_every=100)
    pad = "x" * 7000
    log.append_many([AuditEvent(actor="alice@acme.example", action="grant_revoke" if i % 7 == 0 else "read",
                                target="sales.orders", outcome="revoked", source="cli",
                                details={"i": i, "pad": pad, "text": '\n{"action":"grant_revoke",'})
                     for i in range(400)])
    assert (tmp_path / "audit" / "audit.jsonl").stat().st_size > 2 << 20
    expected = [r for r in log.records() if r.action == "grant_revoke"]
    assert [r.details["i"] for r in log.records_of("grant_revoke")] == [r.details["i"] for r in expected]
    assert list(log.records_of("grant_revoke")) == expected
    assert list(log.records_of("no_such_action")) == []


def test_records_of_names_the_line_of_a_damaged_record(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit", LocalKeyStore(tmp_path / "keys").signing_key("audit.pem"))
    for action in ("read", "grant_revoke", "read", "grant_revoke"):
        log.append(AuditEvent(actor="alice@acme.example", action=action, target="sales.orders", outcome="revoked",
                              source="cli", details={}))
    path = tmp_path / "audit" / "audit.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = b'{"action":"grant_revoke",' + b"\xff" * 10 + b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(AuditError, match="line 4 of the audit log is not a valid audit record"):
        list(log.records_of("grant_revoke"))


# -- a revoked grant pasted back, edited --------------------------------------------------------------

def _first_grant_edited(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced by ``new`` in the first [[grants]] entry only (the revoked one)."""
    start = text.index("[[grants]]")
    end = text.index("[[grants]]", start + 1)
    assert old in text[start:end], old
    return text[:start] + text[start:end].replace(old, new, 1) + text[end:]


@pytest.mark.parametrize(("old", "new"), [
    pytest.param('id = "g-f7420363"', 'id = "g-f7420364"', id="new-id"),
    pytest.param('nonce = "427d524e7a3120f3a1e116885080f84a"', 'nonce = "427d524e7a3120f3a1e116885080f84b"',
                 id="new-nonce"),
    pytest.param('nonce = "427d524e7a3120f3a1e116885080f84a"', 'nonce = "3a03027cda3841a745cb15ddeaae8bf2"',
                 id="nonce-of-the-other-grant"),
    pytest.param('product = "customers.customers"', 'product = "customers.customers "', id="product-whitespace"),
    pytest.param('product = "customers.customers"', 'product = "Customers.customers"', id="product-case"),
    pytest.param('consumer = "sales"', 'consumer = "Sales"', id="consumer-case"),
    pytest.param('consumer = "sales"', 'consumer = "s\u0430les"', id="consumer-look-alike"),
    pytest.param("expires = 2027-06-30", "expires = 2027-06-29", id="other-expiry"),
    pytest.param("expires = 2027-06-30", "expires = 2027-06-30\nrequested_by = \"marketing-data@acme.example\"",
                 id="requester-added"),
    pytest.param("order attribution to customers", "order attribution to customers ", id="purpose-whitespace"),
])
def test_a_revoked_grant_pasted_back_edited_grants_nothing(example_root: Path, old: str, new: str) -> None:
    signed = revoke_and_paste_back(example_root)
    (example_root / "mesh.toml").write_text(_first_grant_edited(signed, old, new))
    try:
        policy = load_policy(example_root)
    except PolicyErrors:
        return  # refused whole: nothing is granted
    assert active_grant(policy, "customers.customers", "sales", TODAY) is None
    assert statuses(example_root).get(GRANT, "gone") != "active"


def test_grant_ids_swapped_between_a_revoked_and_an_active_grant_grant_nothing(example_root: Path) -> None:
    signed = revoke_and_paste_back(example_root)
    swapped = signed.replace('id = "g-f7420363"', 'id = "g-swap"').replace('id = "g-eb22fd87"', 'id = "g-f7420363"')
    (example_root / "mesh.toml").write_text(swapped.replace('id = "g-swap"', 'id = "g-eb22fd87"'))
    policy = load_policy(example_root)
    assert active_grant(policy, "customers.customers", "sales", TODAY) is None
    assert active_grant(policy, "sales.customer_orders", "marketing", TODAY) is None, "its signatures name its id"


# -- a revoked grant's id approved again ------------------------------------------------------------

@pytest.mark.parametrize("nonce", [
    pytest.param('nonce = "0123456789abcdef0123456789abcdef"', id="fresh-nonce"),
    pytest.param("", id="nonce-removed"),
])
def test_a_revoked_grant_pasted_back_unsigned_with_another_nonce_is_never_approved_again(example_root: Path,
                                                                                          nonce: str) -> None:
    """The insider strips the signatures and gives the entry another nonce (or none, which the
    first approval fills in), then asks the approvers to approve `g-f7420363`: it is the revoked
    grant's id, so the approval is refused, as for the revoked entry itself."""
    signed = revoke_and_paste_back(example_root)
    text = _first_grant_edited(signed, 'nonce = "427d524e7a3120f3a1e116885080f84a"', nonce)
    start = text.index("[[grants]]")
    end = text.index("[[grants]]", start + 1)
    entry = "\n".join(line for line in text[start:end].splitlines()
                      if not line.startswith(("signatures", "approved_by"))) + "\n\n"
    (example_root / "mesh.toml").write_text(text[:start] + entry + text[end:])
    for who in (CUSTOMERS, COUNCIL):
        code, out = mesh(example_root, "access", "approve", GRANT, "--as", who)
        assert code != 0 and "a revoked grant is never approved again" in " ".join(out.split()), out
    assert active_grant(load_policy(example_root), "customers.customers", "sales", TODAY) is None
    assert statuses(example_root)[GRANT] == "revoked"


# -- hostile ids on the command line ----------------------------------------------------------------

@pytest.mark.parametrize("grant_id", [
    pytest.param("g" * 100_000, id="huge"),
    pytest.param("g-\nfoo\x1b[31mred\x00", id="control-characters"),
    pytest.param("g-\udcff\udcfe", id="not-utf-8"),  # an undecodable byte of argv, as Python hands it over
    pytest.param("g-f742\u0599363", id="combining-mark"),
    pytest.param("\u0261-f7420363", id="look-alike"),
    pytest.param("g-" + "\u202e" * 5000, id="huge-bidi-override"),
])
@pytest.mark.parametrize("command", ["approve", "revoke"])
def test_a_hostile_grant_id_is_a_short_one_line_error(example_root: Path, grant_id: str, command: str) -> None:
    code, out = mesh(example_root, "access", command, grant_id, "--as", COUNCIL)
    assert code != 0
    assert "Traceback" not in out and out.count("\n") <= 1 and len(out) < 600, out[:600]
    assert "there is no grant" in out and "Fix:" in out, out[:600]


@pytest.mark.parametrize(("product", "consumer", "purpose"), [
    pytest.param("customers." + "c" * 100_000, "sales", "x", id="huge-product"),
    pytest.param("customers.customers\udcff", "sales", "x", id="product-not-utf-8"),
    pytest.param("customers.customers", "s" * 100_000, "x", id="huge-consumer"),
    pytest.param("customers.customers", "s\u0430les", "x", id="look-alike-consumer"),
    pytest.param("customers.customers", "sales\n", "x", id="consumer-newline"),
    pytest.param("customers.customers", "sales", "p" * 100_000, id="huge-purpose"),
    pytest.param("customers.customers", "sales", "a\x1b[2Jb", id="purpose-control-characters"),
    pytest.param("customers.customers", "sales", "a\udcffb", id="purpose-not-utf-8"),
])
def test_a_hostile_request_is_a_short_one_line_error(example_root: Path, product: str, consumer: str,
                                                     purpose: str) -> None:
    code, out = mesh(example_root, "access", "request", product, "--consumer", consumer, "--purpose", purpose,
                     "--as", SALES)
    assert code != 0
    assert "Traceback" not in out and out.count("\n") <= 1 and len(out) < 600, out[:600]


# -- the approvers' standing ---------------------------------------------------------------------------

def test_an_approve_grant_holder_taken_out_after_signing_approves_nothing_once_the_council_approves(
        example_root: Path) -> None:
    """By hand, the edit is not in effect (the insider cannot unmake or make a council); approved by
    the council, the grants the council member signed as approve_grant holder lack that approval."""
    text = (example_root / "mesh.toml").read_text()
    old = 'permissions = ["approve_grant", "approve_policy", "read_audit", "manage_domains", "decrypt:pii"]'
    (example_root / "mesh.toml").write_text(text.replace(old, old.replace('"approve_grant", ', ""), 1))
    assert active_grant(load_policy_mesh(example_root).policy, "customers.customers", "sales", TODAY) is not None
    mesh_ = load_policy_mesh(example_root)
    people = {e: p.public_key for e, p in mesh_.policy.people.items()}
    assert approve_trust(mesh_.policy, governed(mesh_).audit, actor=identity_provider(mesh_.policy).authenticate(COUNCIL),
                         signer=LocalIdentity(people=people)).approved
    assert active_grant(load_policy_mesh(example_root).policy, "customers.customers", "sales", TODAY) is None
    code, out = mesh(example_root, "check")
    assert code != 0 and "lacks approval by a holder of approve_grant" in " ".join(out.split()), out


def test_an_insider_who_adds_themselves_to_the_council_by_hand_approves_nothing(example_root: Path) -> None:
    """analyst@ (a registered person, key held) puts themselves in the council role and signs a
    grant request of their own making as council: the edit is not in effect, so it stays pending."""
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(text.replace('members = ["council@acme.example"]',
                                                         'members = ["council@acme.example", "analyst@acme.example"]', 1))
    code, out = mesh(example_root, "access", "request", "customers.customers", "--consumer", "marketing",
                     "--purpose", "loyalty", "--as", "marketing-data@acme.example")
    assert code == 0, out
    grant_id = out.split()[1]
    code, out = mesh(example_root, "access", "approve", grant_id, "--as", "analyst@acme.example")
    assert code != 0 and "neither an owner of 'customers' nor a holder of approve_grant" in " ".join(out.split()), out
    assert active_grant(load_policy_mesh(example_root).policy, "customers.customers", "marketing", TODAY) is None


def test_revocations_deleted_from_a_shared_state_database_do_not_bring_the_grant_back(example_root: Path) -> None:
    """With `[state] url`, the audit log is in the same database: its grant_revoke records still count."""
    name_state(example_root, "sqlite:///shared/state.sqlite")  # approved by the council: [state] is trust
    revoke_and_paste_back(example_root)
    with sqlite3.connect(example_root / "shared" / "state.sqlite") as db:
        lines = [bytes(line) for (line,) in db.execute("SELECT line FROM audit_lines")]
        assert sum(b'"action":"grant_revoke"' in line for line in lines) == 1, "the log is in the database"
        db.execute("DELETE FROM revoked_grants")
    forget_revocations()
    assert active_grant(load_policy(example_root), "customers.customers", "sales", TODAY) is None
    code, out = mesh(example_root, "check")
    assert code != 0 and "the table lacks it" in " ".join(out.split()), out


# -- the requester edited after the request --------------------------------------------------------------

def _council_owns_marketing(root: Path) -> None:
    """The council approves council@ as a second owner of marketing: one person who may both
    request for marketing and approve as holder of approve_grant (never their own request)."""
    text = (root / "mesh.toml").read_text()
    (root / "mesh.toml").write_text(text.replace('owners = ["marketing-data@acme.example"]',
                                                 'owners = ["marketing-data@acme.example", "council@acme.example"]', 1))
    mesh_ = load_policy_mesh(root)
    people = {e: p.public_key for e, p in mesh_.policy.people.items()}
    assert approve_trust(mesh_.policy, governed(mesh_).audit, actor=identity_provider(mesh_.policy).authenticate(COUNCIL),
                         signer=LocalIdentity(people=people)).approved


def _request_then_rename_the_requester(root: Path) -> str:
    code, out = mesh(root, "access", "request", "customers.customers", "--consumer", "marketing", "--purpose",
                     "loyalty mailing", "--as", COUNCIL)
    assert code == 0, out
    grant_id = out.split()[1]
    text = (root / "mesh.toml").read_text()
    at = text.index(f'id = "{grant_id}"')
    old = f'requested_by = "{COUNCIL}"'
    assert old in text[at:]
    (root / "mesh.toml").write_text(text[:at] + text[at:].replace(old, 'requested_by = "marketing-data@acme.example"', 1))
    return grant_id


def test_a_requester_who_renames_the_requester_in_mesh_toml_still_cannot_approve_their_own_request(
        example_root: Path) -> None:
    _council_owns_marketing(example_root)
    grant_id = _request_then_rename_the_requester(example_root)
    code, out = mesh(example_root, "access", "approve", grant_id, "--as", COUNCIL)
    text = " ".join(out.split())
    assert code != 0 and f"requested by {COUNCIL}" in text and "audit log" in text, text


def test_a_self_approval_signed_outside_the_cli_after_renaming_the_requester_approves_nothing(
        example_root: Path) -> None:
    """The requester holds their own key: they can sign the edited entry by hand. The audit log's
    grant_request record says who asked, so that signature is still a self-approval."""
    _council_owns_marketing(example_root)
    grant_id = _request_then_rename_the_requester(example_root)
    policy = load_policy(example_root)
    grant = next(g for g in policy.grants if g.id == grant_id)
    signature = LocalIdentity(people={COUNCIL: policy.people[COUNCIL].public_key}).sign(
        COUNCIL, payload_of(policy.settings.name, grant))
    text = (example_root / "mesh.toml").read_text()
    at = text.index(f'id = "{grant_id}"')
    tail = text[at:].replace("approved_by = []", f'approved_by = ["{COUNCIL}"]', 1).replace(
        "signatures = {}", f'signatures = {{"{COUNCIL}" = "{signature}"}}', 1)
    (example_root / "mesh.toml").write_text(text[:at] + tail)
    code, out = mesh(example_root, "access", "approve", grant_id, "--as", CUSTOMERS)
    assert code != 0 and f"was requested by {COUNCIL}" in " ".join(out.split()), out  # nobody signs the edit
    policy = load_policy(example_root)
    assert active_grant(policy, "customers.customers", "marketing", TODAY) is None
    assert statuses(example_root)[grant_id] == "pending"
    code, out = mesh(example_root, "access", "list", "--json")
    [lacks] = [g["lacks"] for g in json.loads(out) if g["id"] == grant_id]
    assert any(f"the audit log records that {COUNCIL} requested grant {grant_id}" in line for line in lacks), lacks


# -- hostile values written into mesh.toml -----------------------------------------------------------

@pytest.mark.parametrize(("old", "new"), [
    pytest.param('product = "customers.customers"', 'product = "' + "c" * 100_000 + '"', id="huge-product-no-dot"),
    pytest.param('product = "customers.customers"', 'product = "customers.' + "c" * 100_000 + '"', id="huge-product"),
    pytest.param('product = "customers.customers"', 'product = "customers.customers\\u001b[2J' + "c" * 100_000 + '"',
                 id="huge-product-control-characters"),
    pytest.param('consumer = "sales"', 'consumer = "sales\\u0000' + "s" * 100_000 + '"', id="huge-consumer-nul"),
    pytest.param('consumer = "sales"', 'consumer = "' + "s" * 100_000 + '"', id="huge-consumer"),
    pytest.param('purpose = "order attribution to customers"', 'purpose = "' + "p" * 100_000 + '"',
                 id="huge-purpose"),
])
def test_a_hostile_value_in_a_grant_of_mesh_toml_is_a_short_error(example_root: Path, old: str, new: str) -> None:
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(_first_grant_edited(text, old, new))
    code, out = mesh(example_root, "check")
    assert code != 0 and "Traceback" not in out
    longest = max(out.splitlines(), key=len)
    assert len(longest) < 1000, longest[:300]
