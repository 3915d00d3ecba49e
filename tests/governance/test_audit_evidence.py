"""`mesh audit verify` as evidence: anchored on the key mesh.toml pins and on the tree heads a
witness in the standby region holds, so deleting, cutting or rewriting the local log is reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from governance.audit.log import GENESIS, encode_line
from governance.policy.editing import edit_mesh_toml
from meshctl.cli import app

runner = CliRunner()


def mesh(root: Path, *args: str):
    return runner.invoke(app, [*args, "--root", str(root)])


@pytest.fixture
def used_root(example_root: Path) -> Path:
    """The example mesh after one materialization: records, a signed head, a witnessed head."""
    assert mesh(example_root, "materialize", "finance.fx_rates").exit_code == 0
    return example_root


def audit_dir(root: Path) -> Path:
    return root / ".mesh" / "audit"


def lines_of(root: Path) -> list[str]:
    return (audit_dir(root) / "audit.jsonl").read_text().splitlines(keepends=True)


def rechain(lines: list[str], edit_seq: int) -> list[str]:
    """Rewrite record ``edit_seq`` and recompute every hash after it, as a forger would."""
    forged, prev = [], GENESIS
    for line in lines:
        data = json.loads(line)
        data.pop("hash")
        data["prev"] = prev
        if data["seq"] == edit_seq:
            data["outcome"] = "forged"
        encoded, prev = encode_line(data)
        forged.append(encoded.decode())
    return forged


def test_an_untouched_log_verifies_against_the_pinned_key_and_the_witness(used_root: Path) -> None:
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout and "witness" in result.stdout and "pinned key" in result.stdout
    heads = (used_root / ".mesh" / "regions" / "us-west" / "_witness" / "audit" / "heads.jsonl").read_text()
    assert json.loads(heads.splitlines()[-1])["size"] == len(lines_of(used_root))


def test_deleting_the_whole_audit_folder_is_reported(used_root: Path) -> None:
    count = len(lines_of(used_root))
    shutil.rmtree(audit_dir(used_root))
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 1
    assert f"the witness in us-west saw {count} records; the local log has 0" in result.stderr


def test_cutting_off_the_last_records_and_the_head_is_reported(used_root: Path) -> None:
    lines = lines_of(used_root)
    (audit_dir(used_root) / "audit.jsonl").write_text("".join(lines[:-2]))
    (audit_dir(used_root) / "head.json").unlink()
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 1
    assert f"saw {len(lines)} records; the local log has {len(lines) - 2}" in result.stderr



def test_a_cut_names_all_that_the_newest_witnessed_head_held(used_root: Path) -> None:
    first = len(lines_of(used_root))
    assert mesh(used_root, "materialize", "finance.fx_rates").exit_code == 0  # a newer witnessed head
    newest = len(lines_of(used_root))
    (audit_dir(used_root) / "audit.jsonl").write_text("".join(lines_of(used_root)[:first - 2]))
    (audit_dir(used_root) / "head.json").unlink()
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 1
    assert f"saw {newest} records; the local log has {first - 2}: records {first - 2} to {newest - 1} were " \
           "deleted" in " ".join(result.stderr.split()), result.stderr

def test_rewriting_a_record_after_the_last_checkpoint_is_reported(used_root: Path) -> None:
    lines = lines_of(used_root)
    (audit_dir(used_root) / "audit.jsonl").write_text("".join(rechain(lines, len(lines) - 1)))
    (audit_dir(used_root) / "head.json").unlink()
    (audit_dir(used_root) / "checkpoints.jsonl").unlink()  # the forger also drops the local heads
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 1
    assert "us-west" in result.stderr and "rewritten" in result.stderr


def test_a_replaced_key_and_re_signed_checkpoints_are_refused(used_root: Path) -> None:
    lines = rechain(lines_of(used_root), 0)
    (audit_dir(used_root) / "audit.jsonl").write_text("".join(lines))
    (audit_dir(used_root) / "head.json").unlink()
    forger = Ed25519PrivateKey.generate()
    (audit_dir(used_root) / "audit.ed25519.pub").write_bytes(forger.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    from governance.audit.log import AuditLog
    (audit_dir(used_root) / "checkpoints.jsonl").unlink()
    AuditLog(audit_dir(used_root), forger).checkpoint()
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 1
    assert "fingerprint" in result.stderr and "[audit].key_fingerprint" in result.stderr


def test_without_a_pinned_key_verify_says_so_and_mesh_audit_pin_pins_it(used_root: Path) -> None:
    with edit_mesh_toml(used_root / "mesh.toml") as doc:
        del doc["audit"]
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 1 and "no audit key fingerprint is pinned" in result.stderr
    assert "mesh audit pin" in result.stderr
    pinned = mesh(used_root, "audit", "pin")
    assert pinned.exit_code == 0, pinned.output
    assert mesh(used_root, "audit", "verify").exit_code == 0


def witnessed_size(root: Path) -> int:
    heads = (root / ".mesh" / "regions" / "us-west" / "_witness" / "audit" / "heads.jsonl").read_text()
    return json.loads(heads.splitlines()[-1])["size"]


def test_every_command_that_appended_ends_under_a_witnessed_head(used_root: Path) -> None:
    before = len(lines_of(used_root))
    assert mesh(used_root, "audit", "query", "--as", "council@acme.example").exit_code == 0
    assert len(lines_of(used_root)) == before + 1 and witnessed_size(used_root) == before + 1
    heads = (audit_dir(used_root) / "checkpoints.jsonl").read_text().count("\n")
    assert mesh(used_root, "audit", "verify").exit_code == 0  # appends nothing, so signs nothing
    assert (audit_dir(used_root) / "checkpoints.jsonl").read_text().count("\n") == heads


def test_a_backup_witnesses_the_log_too(used_root: Path) -> None:
    assert mesh(used_root, "dr", "backup", "--as", OPERATOR).exit_code == 0
    shutil.rmtree(audit_dir(used_root))
    shutil.rmtree(used_root / ".mesh" / "regions" / "us-west" / "_witness")
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 1 and "the witness in backup" in result.stderr and "the local log has 0" in result.stderr


def test_another_pinned_key_is_replaced_only_with_rotate_keys(used_root: Path) -> None:
    with edit_mesh_toml(used_root / "mesh.toml") as doc:
        doc["audit"]["key_fingerprint"] = "sha256:" + "ab" * 32
    refused = mesh(used_root, "audit", "pin")
    assert refused.exit_code == 1 and "already pins another audit key" in refused.stderr and "--replace" in refused.stderr
    assert mesh(used_root, "audit", "verify").exit_code == 1
    denied = mesh(used_root, "audit", "pin", "--replace", "--as", "council@acme.example")
    assert denied.exit_code == 1 and "rotate_keys" in denied.stderr
    replaced = mesh(used_root, "audit", "pin", "--replace", "--as", "platform@acme.example")
    assert replaced.exit_code == 0, replaced.output
    assert mesh(used_root, "audit", "verify").exit_code == 0


def test_a_malformed_pin_is_a_policy_error_naming_the_key(used_root: Path) -> None:
    with edit_mesh_toml(used_root / "mesh.toml") as doc:
        doc["audit"]["key_fingerprint"] = "abc"
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 1 and "[audit].key_fingerprint" in result.stderr and "mesh audit pin" in result.stderr


OPERATOR = "platform@acme.example"


def test_a_loss_after_a_deliberate_restore_is_acknowledged_once_by_operate_dr_and_then_named(used_root: Path) -> None:
    assert mesh(used_root, "dr", "backup", "--as", OPERATOR).exit_code == 0
    assert mesh(used_root, "materialize", "finance.fx_rates").exit_code == 0  # records the backup lacks
    witnessed = len(lines_of(used_root))
    shutil.rmtree(audit_dir(used_root))  # the disk with the log is lost
    restored = mesh(used_root, "dr", "restore", "--as", OPERATOR)
    assert restored.exit_code == 0, restored.stderr
    before = mesh(used_root, "audit", "verify")
    assert before.exit_code == 1 and "the witness in us-west" in before.stderr

    refused = mesh(used_root, "audit", "acknowledge-loss", "--reason", "restore drill", "--as",
                   "analyst@acme.example")
    assert refused.exit_code == 1 and "operate_dr" in refused.stderr
    done = mesh(used_root, "audit", "acknowledge-loss", "--reason", "disk lost, INC-42", "--as", OPERATOR)
    assert done.exit_code == 0, done.stderr
    after = mesh(used_root, "audit", "verify")
    assert after.exit_code == 0, after.stderr
    assert f"up to record {witnessed - 1}" in after.stdout and "INC-42" in after.stdout and OPERATOR in after.stdout
    assert "audit_loss_acknowledged" in "".join(lines_of(used_root))
    again = mesh(used_root, "audit", "acknowledge-loss", "--reason", "again", "--as", OPERATOR)
    assert again.exit_code == 1 and "no loss to acknowledge" in again.stderr

    acks = sorted((used_root / ".mesh" / "regions").glob("*/_witness/audit/acknowledged.jsonl"))
    assert acks, "the acknowledgment is kept in the regions' witnesses"
    originals = [ack.read_text() for ack in acks]
    for ack, original in zip(acks, originals, strict=True):
        ack.write_text(original.replace("INC-42", "INC-43"))  # an edited acknowledgment acknowledges nothing
    assert mesh(used_root, "audit", "verify").exit_code == 1
    for ack, original in zip(acks, originals, strict=True):
        ack.write_text(original)
    lines = lines_of(used_root)
    (audit_dir(used_root) / "audit.jsonl").write_text("".join(lines[:3] + lines[4:]))  # a new deletion
    assert mesh(used_root, "audit", "verify").exit_code == 1


def test_nothing_to_acknowledge_on_an_intact_log(used_root: Path) -> None:
    result = mesh(used_root, "audit", "acknowledge-loss", "--reason", "none", "--as", OPERATOR)
    assert result.exit_code == 1 and "no loss to acknowledge" in result.stderr


def test_a_cut_log_with_its_heads_and_witness_deleted_fails_and_verify_signs_nothing(used_root: Path) -> None:
    log = audit_dir(used_root) / "audit.jsonl"
    log.write_text("".join(lines_of(used_root)[:3]))
    for name in ("head.json", "checkpoints.jsonl"):
        (audit_dir(used_root) / name).unlink(missing_ok=True)
    shutil.rmtree(used_root / ".mesh" / "regions" / "us-west" / "_witness")
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 1 and "no witness" in result.output and "holds a tree head" in result.output, \
        result.output
    assert not (audit_dir(used_root) / "checkpoints.jsonl").exists(), "verification signed a head over what it found"
    assert not (used_root / ".mesh" / "regions" / "us-west" / "_witness").exists()


def test_a_lost_audit_key_made_anew_signs_nothing_until_it_is_pinned(used_root: Path) -> None:
    before = (audit_dir(used_root) / "checkpoints.jsonl").read_text()
    (used_root / ".mesh" / "keys" / "audit.ed25519.pem").unlink()
    assert mesh(used_root, "materialize", "finance.fx_rates").exit_code == 0  # the data is safe; the head waits
    assert (audit_dir(used_root) / "checkpoints.jsonl").read_text() == before, "signed with a key nobody pinned"
    result = mesh(used_root, "audit", "verify")
    assert result.exit_code == 0, result.output  # what was signed still verifies; the new records are unsigned
    replaced = mesh(used_root, "audit", "pin", "--replace", "--as", "platform@acme.example")
    assert replaced.exit_code == 0, replaced.output
    assert mesh(used_root, "materialize", "finance.fx_rates").exit_code == 0
    assert (audit_dir(used_root) / "checkpoints.jsonl").read_text() != before, "pinned: it signs again"
