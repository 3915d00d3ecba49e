"""Key rotation: a new KEK, every data key rewrapped, data untouched, safe to interrupt."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
from contextlib import AbstractContextManager
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest

from assets import Mesh, materialize
from assets.ports import ProtectedFrame, Protector, Services
from governance.access import read_asset
from governance.dr import BackupError, backup, restore, rewrap_backups, verify_backup
from governance.dr.kek_retirement import kek_usage, retire_kek
from governance.keys import KeyError_
from governance.protection.keys import WrappedKey
from governance.protection.rotation import rotate_keys
from governance.services import governed
from governance.wiring import load_mesh
from tests.conftest import person


@pytest.fixture
def protected_mesh(example_mesh: Mesh) -> Mesh:
    for _ in range(2):
        assert materialize("customers.customers", mesh=example_mesh, params={"scale": 100}).ok
    return example_mesh


def plaintext(mesh: Mesh) -> list[tuple[str, str]]:
    store = mesh.store()
    rows = []
    for version in store.versions("customers.customers"):
        frame = read_asset(mesh, "customers.customers", actor=person("privacy@acme.example"), version=version).collect()
        rows += list(zip(frame["email"], frame["full_name"], strict=True))
    return rows


def test_rotation_rewraps_every_key_and_keeps_old_versions_readable(protected_mesh: Mesh) -> None:
    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    before_text = plaintext(mesh)
    store = mesh.store()
    checksums = [store.manifest("customers.customers", v).checksum for v in store.versions("customers.customers")]
    old = keyring.provider.active_kek_id()
    report = rotate_keys(mesh, keyring, governed(mesh).audit, actor=person("platform@acme.example"))
    assert report.kek_id != old and report.rewrapped == 5 and not report.resumed  # 2 versions x 2 regions + 1 token key
    assert kek_usage(mesh, keyring) == {report.kek_id: 5}
    assert plaintext(mesh) == before_text
    assert [store.manifest("customers.customers", v).checksum for v in store.versions("customers.customers")] == checksums
    for version in store.versions("customers.customers"):
        assert store.verify(store.manifest("customers.customers", version)), "data must not be rewritten"
    retire_kek(mesh, keyring, governed(mesh).audit, old, actor=person("platform@acme.example"))
    assert plaintext(mesh) == before_text
    actions = [(r.action, r.outcome) for r in governed(mesh).audit.query(actor="service:keys")]
    assert actions == [("key_rotate", "started"), ("key_rotate", "completed"), ("key_retire", "retired")]


def test_an_interrupted_rotation_is_finished_by_running_it_again(protected_mesh: Mesh) -> None:
    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    before_text = plaintext(mesh)
    audit = governed(mesh).audit

    def crash(_label: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"), on_item=crash)
    assert len(kek_usage(mesh, keyring)) == 2, "half rotated"
    assert plaintext(mesh) == before_text, "readable in the middle of a rotation"
    report = rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"))
    assert report.resumed and report.rewrapped == 4 and report.already == 1
    assert kek_usage(mesh, keyring) == {report.kek_id: 5}
    assert plaintext(mesh) == before_text


def test_a_kek_in_use_or_active_cannot_be_retired(protected_mesh: Mesh) -> None:
    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    active = keyring.provider.active_kek_id()
    with pytest.raises(KeyError_, match=f"KEK {active} still wraps 5 data key"):
        retire_kek(mesh, keyring, governed(mesh).audit, active, actor=person("platform@acme.example"))
    with pytest.raises(KeyError_, match="is the active key"):
        keyring.provider.retire(active)


def test_retiring_an_unknown_kek_is_an_error_naming_the_known_ones(protected_mesh: Mesh) -> None:
    from typer.testing import CliRunner

    from meshctl.cli import app

    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    active = keyring.provider.active_kek_id()
    with pytest.raises(KeyError_, match=f"no KEK 'no-such-key'.*known: {active}"):
        retire_kek(mesh, keyring, governed(mesh).audit, "no-such-key", actor=person("platform@acme.example"))
    typo = active[:-1]
    done = CliRunner().invoke(app, ["keys", "retire", typo, "--as", "platform@acme.example", "--root", str(mesh.root)])
    assert done.exit_code != 0 and "retired" not in done.stdout
    assert f"did you mean {active}" in " ".join((done.stdout + done.stderr).split())
    assert not [r for r in governed(mesh).audit.query(action="key_retire") if r.outcome == "retired"]


@dataclasses.dataclass(frozen=True)
class PauseAfterProtect:
    """The mesh's own protector, pausing a publish between protecting its data (its data key
    wrapped) and storing it, until ``go`` is set."""

    inner: Protector
    protected: threading.Event
    go: threading.Event

    def hold_keys(self) -> AbstractContextManager[None]:
        return self.inner.hold_keys()

    def protect(self, key: str, contract: type[pa.DataFrameModel], frame: pl.DataFrame) -> ProtectedFrame:
        done = self.inner.protect(key, contract, frame)
        self.protected.set()
        assert self.go.wait(timeout=120)
        return done


def test_rotation_and_retirement_wait_for_a_running_publish(protected_mesh: Mesh) -> None:
    protected, go, waiting = threading.Event(), threading.Event(), threading.Event()
    before = plaintext(protected_mesh)
    base = load_mesh(protected_mesh.root)

    def paused(mesh: Mesh) -> Services:
        services = base.wiring(mesh)
        return dataclasses.replace(services, protector=PauseAfterProtect(services.protector, protected, go))

    publisher = dataclasses.replace(base, wiring=paused)
    published = []
    run = threading.Thread(target=lambda: published.append(
        materialize("customers.customers", mesh=publisher, params={"scale": 100}).ok))
    run.start()
    assert protected.wait(timeout=120), "the publish protected its data"

    operator = load_mesh(protected_mesh.root)  # as another process would
    keyring, audit = governed(operator).keyring, governed(operator).audit
    old = keyring.provider.active_kek_id()
    errors: list[BaseException] = []

    def rotate_and_retire() -> None:
        try:
            rotate_keys(operator, keyring, audit, actor=person("platform@acme.example"), on_wait=waiting.set)
            retire_kek(operator, keyring, audit, old, actor=person("platform@acme.example"), on_wait=waiting.set)
        except BaseException as exc:
            errors.append(exc)
        finally:
            waiting.set()

    rotation = threading.Thread(target=rotate_and_retire)
    rotation.start()
    assert waiting.wait(timeout=120), "the rotation waits for the running publish (or finished without it)"
    go.set()
    run.join()
    rotation.join()
    assert published == [True] and not errors
    assert old not in keyring.provider.kek_ids()
    new = keyring.provider.active_kek_id()
    assert kek_usage(operator, keyring) == {new: 7}  # 3 versions x 2 regions + 1 token key
    after = plaintext(operator)
    assert after[:len(before)] == before and len(after) == len(before) * 3 // 2, "every version stays readable"
    assert all("@" in email for email, _ in after)
    for region in operator.policy.regions:
        store = operator.store(region)
        for version in store.versions("customers.customers"):
            manifest = store.manifest("customers.customers", version)
            assert manifest.data_key, "encrypted columns"
            assert keyring.provider.unwrap(WrappedKey.from_dict(dict(manifest.data_key)), b"dek:customers.customers")


def test_a_kek_is_not_retired_while_a_staged_partitioned_archived_or_quarantined_key_uses_it(
        protected_mesh: Mesh) -> None:
    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    store = mesh.store()
    version = store.versions("customers.customers")[0]
    old_manifest = store.root.read_bytes(store.root.path("customers", "customers", version, "manifest.json"))
    old_key = json.loads(old_manifest)["data_key"]
    old = keyring.provider.active_kek_id()
    rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"))
    standby = mesh.store(mesh.standby_region).root  # keys wrapped by the old KEK, left where a crash leaves them
    planted = {"customers/customers/.staging/v-crashed/manifest.json": old_manifest,
               "customers/customers/2026-11-01/v1/manifest.json": old_manifest,
               "_archive/customers-20261101T000000Z/customers/v1/manifest.json": old_manifest,
               "_quarantine/customers/customers/run-1/report.json":
                   json.dumps({"asset": "customers.customers", "data_key": old_key}).encode()}
    for inner, raw in planted.items():
        standby.makedirs(standby.path(inner.rsplit("/", 1)[0]))
        standby.write_atomic(standby.path(inner), raw)
    with pytest.raises(KeyError_, match=f"KEK {old} still wraps 4 data key"):
        retire_kek(mesh, keyring, audit, old, actor=person("platform@acme.example"))
    assert rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example")).rewrapped == 4 + 5
    retire_kek(mesh, keyring, audit, old, actor=person("platform@acme.example"))
    for inner in planted:
        wrapped = WrappedKey.from_dict(json.loads(standby.read_bytes(standby.path(inner)))["data_key"])
        assert keyring.provider.unwrap(wrapped, b"dek:customers.customers")


def _lose_and_restore(mesh: Mesh, backup_path: Path) -> list[tuple[str, str]]:
    """Remove the manifests of the active region's versions (their data stays), bring them
    back from the backup, and read every version."""
    store = mesh.store()
    for version in store.versions("customers.customers"):
        Path(store.data_path("customers.customers", version)).with_name("manifest.json").unlink()
    report = restore(mesh, backup_path, actor=person("platform@acme.example"))
    assert not report.problems and sum(r.endswith("manifest.json") for r in report.restored) == 2, report
    return plaintext(mesh)


def test_a_kek_that_wraps_keys_in_a_backup_is_not_retired_and_the_backup_stays_restorable(
        protected_mesh: Mesh) -> None:
    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    before = plaintext(mesh)
    written = backup(mesh, actor=person("platform@acme.example"))
    old = keyring.provider.active_kek_id()
    rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"))
    with pytest.raises(KeyError_, match=f"KEK {old} still wraps 5 data key.* backup {written.path.name}") as refused:
        retire_kek(mesh, keyring, audit, old, actor=person("platform@acme.example"))
    assert "mesh keys rewrap-backups" in refused.value.fix and "mesh dr backup" in refused.value.fix
    assert str(written.path) in refused.value.fix
    assert old in keyring.provider.kek_ids()
    assert kek_usage(mesh, keyring)[old] == 5  # 2 versions x 2 regions + 1 token key, in the backup
    assert _lose_and_restore(mesh, written.path) == before



def test_a_backup_written_elsewhere_holds_its_kek_too_even_when_it_is_not_mounted(protected_mesh: Mesh,
                                                                                  tmp_path: Path) -> None:
    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    operator = person("platform@acme.example")
    before = plaintext(mesh)
    written = backup(mesh, tmp_path / "offsite" / "monday", actor=operator)
    old = keyring.provider.active_kek_id()
    rotate_keys(mesh, keyring, audit, actor=operator)
    with pytest.raises(KeyError_, match=f"KEK {old} still wraps 5 data key.* backup monday"):
        retire_kek(mesh, keyring, audit, old, actor=operator)
    unmounted = tmp_path / "unmounted"
    written.path.parent.rename(unmounted)
    with pytest.raises(KeyError_, match="backups written to .*monday, which are not found now") as refused:
        retire_kek(mesh, keyring, audit, old, actor=operator)
    assert "mount them" in refused.value.fix
    unmounted.rename(written.path.parent)
    assert rewrap_backups(mesh, keyring, audit, actor=operator) == {written.path.resolve(): 5}
    retire_kek(mesh, keyring, audit, old, actor=operator)
    assert _lose_and_restore(mesh, written.path) == before

def test_rewrapped_backups_verify_restore_and_free_the_old_kek(protected_mesh: Mesh) -> None:
    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    before = plaintext(mesh)
    written = backup(mesh, actor=person("platform@acme.example"))
    signature = (written.path / "index.sig").read_bytes()
    old = keyring.provider.active_kek_id()
    rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"))
    assert rewrap_backups(mesh, keyring, audit, actor=person("platform@acme.example")) == {written.path: 5}
    assert rewrap_backups(mesh, keyring, audit, actor=person("platform@acme.example")) == {}  # nothing left
    assert (written.path / "index.sig").read_bytes() != signature
    verify_backup(mesh.state_dir, written.path)  # signed again, every checksum right
    assert sorted(p.name for p in written.path.parent.iterdir()) == [written.path.name], "no leftovers"
    retire_kek(mesh, keyring, audit, old, actor=person("platform@acme.example"))
    assert _lose_and_restore(mesh, written.path) == before
    done = [r for r in audit.query(action="key_rewrap_backup")]
    assert [(r.outcome, r.target) for r in done] == [("rewrapped", str(written.path))]


def test_a_tampered_backup_is_neither_rewrapped_nor_signed_again(protected_mesh: Mesh) -> None:
    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    written = backup(mesh, actor=person("platform@acme.example"))
    rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"))
    (written.path / "mesh.toml").write_text("# edited\n")
    with pytest.raises(BackupError, match="missing or altered: mesh.toml"):
        rewrap_backups(mesh, keyring, audit, actor=person("platform@acme.example"))
    assert (written.path / "mesh.toml").read_text() == "# edited\n"


def test_an_unreadable_key_in_a_backup_refuses_retirement_naming_the_file(protected_mesh: Mesh) -> None:
    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    written = backup(mesh, actor=person("platform@acme.example"))
    old = keyring.provider.active_kek_id()
    rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"))
    [damaged, *_] = sorted((written.path / "manifests").rglob("manifest.json"))
    damaged.write_bytes(b"\x00garbage")
    with pytest.raises(KeyError_, match="cannot tell which KEK") as refused:
        retire_kek(mesh, keyring, audit, old, actor=person("platform@acme.example"))
    assert refused.value.where == str(damaged) and "mesh dr backup" in refused.value.fix
    assert old in keyring.provider.kek_ids()


def test_a_rewrap_interrupted_between_its_renames_is_finished_by_the_next(protected_mesh: Mesh,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    before = plaintext(mesh)
    written = backup(mesh, actor=person("platform@acme.example"))
    old = keyring.provider.active_kek_id()
    rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"))
    real_rename = os.rename

    def crash_before_swapping_in(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == written.path:
            raise KeyboardInterrupt
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", crash_before_swapping_in)
    with pytest.raises(KeyboardInterrupt):
        rewrap_backups(mesh, keyring, audit, actor=person("platform@acme.example"))
    monkeypatch.undo()
    assert not written.path.exists()
    with pytest.raises(KeyError_, match=f"KEK {old} still wraps 5 data key.* backup .{written.path.name}.before"):
        retire_kek(mesh, keyring, audit, old, actor=person("platform@acme.example"))  # the old copy counts
    assert rewrap_backups(mesh, keyring, audit, actor=person("platform@acme.example")) == {}  # finished, not redone
    assert sorted(p.name for p in written.path.parent.iterdir()) == [written.path.name]
    verify_backup(mesh.state_dir, written.path)
    retire_kek(mesh, keyring, audit, old, actor=person("platform@acme.example"))
    assert _lose_and_restore(mesh, written.path) == before


def test_keys_commands_rewrap_backups_then_retire(protected_mesh: Mesh) -> None:
    from typer.testing import CliRunner

    from meshctl.cli import app

    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    root, operator = ["--root", str(mesh.root)], ["--as", "platform@acme.example"]
    runner = CliRunner()
    written = backup(mesh, actor=person("platform@acme.example"))
    old = keyring.provider.active_kek_id()
    assert runner.invoke(app, ["keys", "rotate", *root, *operator]).exit_code == 0
    refused = runner.invoke(app, ["keys", "retire", old, *root, *operator])
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.exit_code != 0 and f"backup {written.path.name}" in said and "rewrap-backups" in said, said
    done = runner.invoke(app, ["keys", "rewrap-backups", *root, *operator])
    assert done.exit_code == 0 and f"backup {written.path.name}: 5 data key(s) rewrapped" in done.stdout, done.output
    assert runner.invoke(app, ["keys", "retire", old, *root, *operator]).exit_code == 0


@pytest.mark.parametrize("damage", [
    pytest.param(lambda key: "garbage", id="data-key-a-string"),
    pytest.param(lambda key: {**key, "extra": "field"}, id="data-key-with-an-extra-field"),
    pytest.param(lambda key: [key], id="data-key-a-list"),
])
def test_a_damaged_data_key_in_a_manifest_stops_rotation_and_retirement_naming_the_file(
        protected_mesh: Mesh, damage: object) -> None:
    """A manifest whose ``data_key`` is not a wrapped key (a string, a list, an extra field) is
    named with the fix, never a ValueError or TypeError traceback; the old KEK stays."""
    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    store = mesh.store()
    path = store.root.path("customers/customers", store.versions("customers.customers")[0], "manifest.json")
    document = json.loads(Path(path).read_text())
    Path(path).write_text(json.dumps({**document, "data_key": damage(document["data_key"])}))  # type: ignore[operator]
    old = keyring.provider.active_kek_id()
    for act in (lambda: kek_usage(mesh, keyring),
                lambda: rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example")),
                lambda: retire_kek(mesh, keyring, audit, old, actor=person("platform@acme.example"))):
        with pytest.raises(KeyError_) as refused:
            act()
        assert refused.value.where == str(path) and "mesh dr restore" in refused.value.fix
    assert old in keyring.provider.kek_ids()


def test_a_damaged_tokenization_key_file_stops_rotation_naming_the_file(protected_mesh: Mesh) -> None:
    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    [path] = keyring.wrapped_tokenization_keys()
    for damaged in (b"\xffgarbage{", b"[1]"):
        path.write_bytes(damaged)
        with pytest.raises(KeyError_) as refused:
            kek_usage(mesh, keyring)
        assert refused.value.where == str(path) and "mesh dr restore" in refused.value.fix


_ROTATE_ON_A_FULL_DISK = """
import resource, sys
from pathlib import Path
from governance.keys import KeyError_
from governance.protection.rotation import rotate_keys
from governance.services import governed
from governance.wiring import load_mesh
from tests.conftest import person
mesh = load_mesh(Path(sys.argv[1]))
services = governed(mesh)
resource.setrlimit(resource.RLIMIT_FSIZE, (16, resource.RLIM_INFINITY))  # a 32-byte KEK no longer fits: EFBIG
try:
    rotate_keys(mesh, services.keyring, services.audit, actor=person("platform@acme.example"))
except KeyError_ as exc:
    print(exc)
    sys.exit(3)
"""


def test_a_rotation_on_a_full_disk_is_one_error_naming_the_file_and_running_it_again_finishes(
        protected_mesh: Mesh) -> None:
    """A key file that cannot be written (a full disk; here a file-size limit, which Python's
    ignored SIGXFSZ turns into EFBIG) stops the rotation with the file and the fix, no traceback;
    every version stays readable and the next rotation completes."""
    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    before_text, old = plaintext(mesh), keyring.provider.active_kek_id()
    done = subprocess.run([sys.executable, "-c", _ROTATE_ON_A_FULL_DISK, str(mesh.root)], capture_output=True,
                          text=True, timeout=120, check=False, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 3, done.stderr
    assert "key rotation stopped: a file could not be written (File too large)" in done.stdout
    assert str(mesh.state_dir / "keys" / "kek-") in done.stdout and "run `mesh keys rotate` again" in done.stdout
    assert keyring.provider.active_kek_id() == old and plaintext(mesh) == before_text
    report = rotate_keys(mesh, keyring, governed(mesh).audit, actor=person("platform@acme.example"))
    assert kek_usage(mesh, keyring) == {report.kek_id: 5} and plaintext(mesh) == before_text


_REWRAP_ON_A_FULL_DISK = """
import resource, sys
from pathlib import Path
from governance.dr import rewrap_backups
from governance.keys import KeyError_
from governance.services import governed
from governance.wiring import load_mesh
from tests.conftest import person
mesh = load_mesh(Path(sys.argv[1]))
services = governed(mesh)
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.RLIM_INFINITY))  # the audit log's copy no longer fits
try:
    rewrap_backups(mesh, services.keyring, services.audit, actor=person("platform@acme.example"))
except KeyError_ as exc:
    print(exc)
    sys.exit(3)
"""


def test_a_rewrap_of_backups_on_a_full_disk_leaves_no_half_copy_counted_as_a_backup(protected_mesh: Mesh) -> None:
    """The backup's copy is made on the same disk: when it cannot be written whole, the error
    names the backup and the fix, and no half copy (which holds the index, so it would count as a
    backup with empty key files) is left to stop `mesh keys status` and retirement afterwards."""
    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    written = backup(mesh, actor=person("platform@acme.example"))
    rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"))
    done = subprocess.run([sys.executable, "-c", _REWRAP_ON_A_FULL_DISK, str(mesh.root)], capture_output=True,
                          text=True, timeout=120, check=False, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 3, done.stderr
    assert f"{written.path}: the backup could not be rewrapped" in done.stdout
    assert "run `mesh keys rewrap-backups` again" in done.stdout
    assert sorted(p.name for p in written.path.parent.iterdir()) == [written.path.name], "no half copy"
    assert len(kek_usage(mesh, keyring)) == 2  # the old KEK, in the backup, and the new one
    verify_backup(mesh.state_dir, written.path)
    assert rewrap_backups(mesh, keyring, audit, actor=person("platform@acme.example")) == {written.path: 5}


@pytest.mark.parametrize("damage", ["missing", "damaged"])
def test_a_backup_whose_index_is_lost_or_damaged_blocks_retiring_any_kek(protected_mesh: Mesh, damage: str) -> None:
    """Deny by default: a backup folder whose index.json is lost (or damaged) was not counted, so
    the KEK its keys need was retired and the backup could never be restored. Now it blocks
    retiring any KEK, naming the backup and the fix, until it is repaired or removed."""
    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    operator = person("platform@acme.example")
    written = backup(mesh, actor=operator)
    old = keyring.provider.active_kek_id()
    rotate_keys(mesh, keyring, audit, actor=operator)
    index = written.path / "index.json"
    saved = index.read_bytes()
    if damage == "missing":
        index.unlink()
    else:
        index.write_bytes(b"{\"files\": ")
    with pytest.raises(KeyError_, match=f"KEK {old} is not retired: backup {written.path} "
                                        f"\\(its index.json is {damage}") as refused:
        retire_kek(mesh, keyring, audit, old, actor=operator)
    assert "bringing its index.json" in refused.value.fix and f"remove {written.path}" in refused.value.fix
    assert old in keyring.provider.kek_ids()
    assert [r.outcome for r in audit.query(action="key_retire")] == ["denied"]
    index.write_bytes(saved)  # repaired: it counts again, and holds the old KEK's keys
    with pytest.raises(KeyError_, match=f"KEK {old} still wraps 5 data key"):
        retire_kek(mesh, keyring, audit, old, actor=operator)


def test_a_region_that_is_not_mounted_makes_rotation_incomplete_and_blocks_retirement(protected_mesh: Mesh,
                                                                                      tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from meshctl.cli import app

    mesh, keyring, audit = protected_mesh, governed(protected_mesh).keyring, governed(protected_mesh).audit
    operator = person("platform@acme.example")
    before = plaintext(mesh)
    standby = mesh.regions.secondary
    assert standby is not None
    folder = Path(mesh.store(standby).root.root)
    old = keyring.provider.active_kek_id()
    folder.rename(tmp_path / "unmounted")
    report = rotate_keys(mesh, keyring, audit, actor=operator)
    assert not report.complete and [r.region for r in report.unlisted] == [standby]
    assert report.rewrapped == 3, "the reachable region and the tokenization key are rewrapped"
    shutil.rmtree(folder, ignore_errors=True)  # the audit witness wrote its heads to the standby's path
    with pytest.raises(KeyError_, match=f"KEK {old} is not retired: region {standby} .*folder is missing") as refused:
        retire_kek(mesh, keyring, audit, old, actor=operator)
    assert "mount or restore" in refused.value.fix and "remove it from [regions] of mesh.toml" in refused.value.fix
    done = CliRunner().invoke(app, ["keys", "retire", old, "--as", "platform@acme.example", "--root", str(mesh.root)])
    assert done.exit_code == 1 and "retired" not in done.stdout and standby in " ".join(done.stderr.split())
    assert sorted(os.listdir(folder)) == ["_witness"], "the witness wrote its heads there again"
    with pytest.raises(KeyError_, match=f"region {standby} .*holds no data while .* does \\(an empty mount point"):
        retire_kek(mesh, keyring, audit, old, actor=operator)
    assert old in keyring.provider.kek_ids()
    shutil.rmtree(folder)
    (tmp_path / "unmounted").rename(folder)
    assert kek_usage(mesh, keyring)[old] == 2, "the standby's keys still need the old KEK"
    report = rotate_keys(mesh, keyring, audit, actor=operator)
    assert report.complete and report.resumed and report.rewrapped == 2
    retire_kek(mesh, keyring, audit, old, actor=operator)
    assert plaintext(mesh) == before
    outcomes = [r.outcome for r in audit.query(actor="service:keys")]
    assert outcomes == ["started", "incomplete", "denied", "denied", "denied", "completed", "retired"]


def test_rotate_on_the_command_line_reports_an_unlisted_region_and_fails(protected_mesh: Mesh, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from meshctl.cli import app

    standby = protected_mesh.regions.secondary
    assert standby is not None
    folder = Path(protected_mesh.store(standby).root.root)
    folder.rename(tmp_path / "unmounted")
    args = ["keys", "rotate", "--as", "platform@acme.example", "--root", str(protected_mesh.root)]
    done = CliRunner().invoke(app, args)
    said = " ".join(done.stderr.split())
    assert done.exit_code == 1 and f"rotation incomplete: region {standby}" in said and "mount or restore" in said
    status = CliRunner().invoke(app, ["keys", "status", "--root", str(protected_mesh.root)])
    assert f"not counted: region {standby}" in " ".join(status.stdout.split())
