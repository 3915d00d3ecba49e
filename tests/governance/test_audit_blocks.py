"""`mesh audit verify` checks the log by the block roots every signed head carries: one pass of
block hashing instead of hashing each record. It must catch everything the record-by-record
check catches, and step aside for heads signed before block roots existed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.storage import StorageRoot
from governance.audit import AuditEvent, AuditLog
from governance.audit.blocks import BLOCK
from governance.audit.lines import canonical
from governance.audit.witness import RegionWitness, Witnesses
from governance.keys import LocalKeyStore


def _event(i: int) -> AuditEvent:
    return AuditEvent(actor=f"user{i % 7}@acme.example", action="read", target=f"sales.t{i % 11}",
                      outcome="allowed", source="test", details={"i": i, "pad": "p" * (i % 400)})


def _open(root: Path, *, checkpoint_every: int = 1000) -> AuditLog:
    witness = RegionWitness("us-west", StorageRoot(str(root / "us-west")))
    return AuditLog(root / "audit", LocalKeyStore(root / "keys").signing_key("audit.pem"),
                    checkpoint_every=checkpoint_every,
                    witnesses=Witnesses(targets=lambda: [witness], sources=lambda: [witness]))


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of more than four 1 MiB blocks, with witnessed heads inside several of them."""
    root = tmp_path_factory.mktemp("sealed")
    log = _open(root)
    i = 0
    while i == 0 or (log.folder / "audit.jsonl").stat().st_size < 4 * BLOCK + 1000:
        log.append_many([_event(j) for j in range(i, i + 500)])
        i += 500
        if i % 2500 == 0:
            log.seal()
    log.seal()
    return root


def _copy(sealed: Path, tmp: Path) -> AuditLog:
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(sealed, tmp)
    return _open(tmp)


def test_an_untouched_log_is_checked_by_block_roots_and_agrees_with_the_full_check(sealed: Path,
                                                                                  tmp_path: Path) -> None:
    log = _copy(sealed, tmp_path / "copy")
    quick, full = log.verify(), log.verify(full=True)
    assert quick.ok and full.ok, (quick.problem, full.problem)
    assert quick.method == "bytes" and full.method == "records"
    assert quick.records == full.records == sum(1 for _ in log.records())
    assert quick.witnessed == full.witnessed == quick.records
    assert quick.checkpoints == full.checkpoints > 4


def _lines(log: AuditLog) -> list[bytes]:
    return (log.folder / "audit.jsonl").read_bytes().splitlines(keepends=True)


_MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.floats(0, 1, exclude_max=True), st.just(0)),
    st.tuples(st.just("drop"), st.floats(0, 1, exclude_max=True), st.just(0)),
    st.tuples(st.just("repeat"), st.floats(0, 1, exclude_max=True), st.just(0)),
    st.tuples(st.just("swap"), st.floats(0, 1, exclude_max=True), st.just(0)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_MUTATIONS)
def test_any_change_to_what_a_head_covers_is_reported_by_both_checks(sealed: Path, tmp_path: Path,
                                                                     mutation: tuple[str, float, int]) -> None:
    log = _copy(sealed, tmp_path / "copy")
    path = log.folder / "audit.jsonl"
    raw = path.read_bytes()
    kind, where, value = mutation
    lines = raw.splitlines(keepends=True)
    k = int(where * (len(lines) - 1))
    if kind == "flip":
        at = int(where * len(raw))
        changed = raw[:at] + bytes([raw[at] ^ value]) + raw[at + 1:]
    elif kind == "cut":
        changed = raw[:int(where * len(raw))]
    elif kind == "drop":
        changed = b"".join(lines[:k] + lines[k + 1:])
    elif kind == "repeat":
        changed = b"".join(lines[:k + 1] + lines[k:])
    else:
        changed = b"".join(lines[:k] + [lines[k + 1], lines[k]] + lines[k + 2:])
    path.write_bytes(changed)
    quick = log.verify()
    assert not quick.ok, mutation
    assert not _open(tmp_path / "copy").verify(full=True).ok, mutation


def test_records_no_head_covers_yet_are_checked_one_by_one(sealed: Path, tmp_path: Path) -> None:
    log = _copy(sealed, tmp_path / "copy")
    log.append_many([_event(i) for i in range(3)])  # no seal: the tail is unsigned
    lines = _lines(log)
    lines[-2] = lines[-2].replace(b'"outcome":"allowed"', b'"outcome":"denied!"')
    (log.folder / "audit.jsonl").write_bytes(b"".join(lines))
    report = log.verify()
    assert not report.ok
    assert f"record {len(lines) - 2} at line {len(lines) - 1} was modified" in (report.problem or "")


def test_heads_signed_before_block_roots_are_checked_record_by_record(tmp_path: Path) -> None:
    log = _open(tmp_path)
    for i in range(3):
        log.append_many([_event(j) for j in range(i * 10, i * 10 + 10)])
        log.seal()
    signer = log.signer
    older = []
    for line in (log.folder / "checkpoints.jsonl").read_bytes().splitlines():
        head = {k: v for k, v in json.loads(line).items() if k in ("size", "root", "at", "key_id")}
        older.append({**head, "signature": signer.sign(canonical(head)).hex()})
    (log.folder / "checkpoints.jsonl").write_bytes(b"".join(canonical(h) + b"\n" for h in older))
    shutil.rmtree(tmp_path / "us-west")
    report = log.verify()
    assert report.ok and report.method == "records" and report.records == 30
    lines = _lines(log)
    lines[5] = lines[5].replace(b'"outcome":"allowed"', b'"outcome":"denied!"')
    (log.folder / "audit.jsonl").write_bytes(b"".join(lines))
    assert "record 5 at line 6 was modified" in (log.verify().problem or "")


def test_a_head_whose_block_root_was_stripped_no_longer_verifies(tmp_path: Path) -> None:
    log = _open(tmp_path)
    log.append_many([_event(i) for i in range(5)])
    log.seal()
    path = log.folder / "checkpoints.jsonl"
    heads = [json.loads(line) for line in path.read_bytes().splitlines()]
    heads[-1].pop("blocks")
    path.write_bytes(b"".join(canonical(h) + b"\n" for h in heads))
    report = log.verify()
    assert not report.ok and "invalid signature" in (report.problem or "")


def test_only_an_acknowledgment_signed_by_someone_allowed_counts(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from governance.identity.keys import public_key_text, signature_text

    person = Ed25519PrivateKey.generate()
    allowed: dict[str, str] = {}
    log = _open(tmp_path)
    log.acknowledgers = allowed.get
    log.append_many([_event(i) for i in range(6)])
    log.seal()
    lines = _lines(log)
    shutil.rmtree(log.folder)  # lost; a fresh log starts
    log.append_many([_event(i) for i in range(2)])
    log.seal()
    assert not log.verify().ok
    ack = log.acknowledge_loss("ops@acme.example", "disk lost", lambda p: signature_text(person.sign(p)))
    assert {h["size"] for h in ack.heads} == {len(lines)}
    assert not log.verify().ok  # signed, but by someone mesh.toml does not let acknowledge
    allowed["ops@acme.example"] = public_key_text(person)
    report = log.verify()
    assert report.ok and report.acknowledged and "disk lost" in report.acknowledged[0]
