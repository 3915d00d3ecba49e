"""A special file where the mesh keeps one of its own small files (a CURRENT pointer, a version's
manifest, the active-region file, ...) is one error line naming the file and the fix, exit 1:
never a wait on a FIFO, nor a sparse 10 GB file read whole into memory, nor a traceback.

Each case puts a FIFO, a folder, a link to ``/dev/zero`` (outside the mesh) or a sparse 10 GB
file where a materialized mesh keeps that file, and runs a command that reads it in this process,
bounded in time (a watchdog alarm) and in memory (``RLIMIT_DATA``), so a regression fails the
test instead of hanging it or taking the machine's memory; the lineage case runs in another
process, as its events are sent on a thread no alarm interrupts. The tests run as root here, so a file
of mode 000 is no case: root reads it anyway."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from assets import Mesh
from assets.results import RunResult
from meshctl.cli import app
from tests.watchdog import at_most

READ_ORDERS = ("read", "sales.orders", "--as", "sales-data@acme.example")
HUGE = 10 * 1024**3


@contextmanager
def memory_at_most(more: int) -> Iterator[None]:
    """Let this process map at most ``more`` bytes more while the block runs (``RLIMIT_DATA``):
    reading a sparse 10 GB file whole is then a ``MemoryError``, not the machine's memory."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    used = int(Path("/proc/self/status").read_text().split("VmData:")[1].split()[0]) * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (min(used + more, hard) if hard != resource.RLIM_INFINITY
                                              else used + more, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _fifo(path: Path) -> None:
    os.mkfifo(path, 0o600)


def _folder(path: Path) -> None:
    path.mkdir()


def _link_outside(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _huge(path: Path) -> None:
    with open(path, "wb") as fh:
        fh.truncate(HUGE)  # sparse: no disk, but 10 GB to read


KINDS: dict[str, Callable[[Path], None]] = {
    "fifo": _fifo, "folder": _folder, "link-to-dev-zero": _link_outside, "sparse-10gb": _huge,
}


def _asset_folder(root: Path, key: str) -> Path:
    return root / ".mesh/regions/us-east" / key.replace(".", "/")


def current_of(key: str) -> Callable[[Path], Path]:
    return lambda root: _asset_folder(root, key) / "CURRENT"


def manifest_of(key: str) -> Callable[[Path], Path]:
    def locate(root: Path) -> Path:
        folder = _asset_folder(root, key)
        return folder / json.loads((folder / "CURRENT").read_text())["version"] / "manifest.json"
    return locate


def under_mesh(relative: str) -> Callable[[Path], Path]:
    return lambda root: root / ".mesh" / relative


FILES: list[object] = [
    pytest.param(current_of("sales.orders"), ("list",), id="current-list"),
    pytest.param(current_of("sales.orders"), READ_ORDERS, id="current-read"),
    pytest.param(manifest_of("sales.orders"), READ_ORDERS, id="manifest-read"),
    pytest.param(under_mesh("state/active_region.json"), ("list",), id="active-region-list"),
    pytest.param(under_mesh("audit/audit.jsonl"), ("audit", "verify"), id="audit-log-verify"),
    pytest.param(under_mesh("audit/audit.jsonl"), READ_ORDERS, id="audit-log-read"),
    pytest.param(under_mesh("audit/head.json"), ("audit", "verify"), id="audit-head-verify"),
    pytest.param(under_mesh("audit/checkpoints.jsonl"), ("audit", "verify"), id="audit-checkpoints-verify"),
    pytest.param(under_mesh("audit/audit.ed25519.pub"), ("audit", "verify"), id="audit-public-key-verify"),
    pytest.param(under_mesh("state/mesh.sqlite"), ("list",), id="state-database-list"),
    pytest.param(under_mesh("state/mesh.sqlite-wal"), ("list",), id="state-database-wal-list"),
]

#: The cases that are no error: the file is a cache, passed over (and rebuilt by the next append).
REBUILT = {(".mesh/audit/head.json", "sparse-10gb")}
#: A sparse file of zeros is a regular file, which SQLite reads page by page, never whole: as an
#: empty database or WAL. What the command then does depends on where SQLite kept the pages (the
#: WAL or the database file): it lists the assets, or says the database was emptied.
SQLITE_READS = {(".mesh/state/mesh.sqlite", "sparse-10gb"), (".mesh/state/mesh.sqlite-wal", "sparse-10gb")}


def replace_with(path: Path, make: Callable[[Path], None]) -> None:
    """``path`` (missing, a file or a folder) replaced by what ``make`` puts there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    make(path)


def _run_on_special(materialized_example: tuple[Mesh, RunResult], tmp_path: Path, locate: Callable[[Path], Path],
                    kind: str, command: tuple[str, ...]) -> tuple[Path, Path, Result]:
    """Run ``command`` on a copy of the materialized example whose file at ``locate`` is replaced
    by a special file of ``kind``, bounded in time and memory: the copy's root, the file, the result."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    path = locate(root)
    replace_with(path, KINDS[kind])
    with at_most(30), memory_at_most(2 * 1024**3):
        result = CliRunner().invoke(app, [*command, "--root", str(root)], catch_exceptions=True)
    return root, path, result


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("locate", "command"), FILES)
def test_a_special_file_where_the_mesh_keeps_its_own_is_one_line(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path, locate: Callable[[Path], Path],
        command: tuple[str, ...], kind: str) -> None:
    root, path, result = _run_on_special(materialized_example, tmp_path, locate, kind, command)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output, result.output
    if (path.relative_to(root).as_posix(), kind) in REBUILT:
        assert result.exit_code == 0, result.output
        return
    if (path.relative_to(root).as_posix(), kind) in SQLITE_READS:
        if result.exit_code == 0:
            return
        assert "the state database is empty or missing" in result.output, result.output
        path = path.with_name("mesh.sqlite")
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(path) in errors[0] and "Fix:" in errors[0], result.output
    assert errors[0].count("Fix:") == 1 and errors[0].count(str(path)) == 1, errors[0]  # said once


@pytest.mark.parametrize("kind", KINDS)
def test_a_special_verified_reads_cache_is_passed_over_and_replaced(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path, kind: str) -> None:
    """The verified-read cache is only a cache: a read does not wait on it nor read it whole, it
    hashes the data instead and replaces the cache with a file (a folder cannot be replaced, and
    stays)."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    path = under_mesh("state/verified-reads.jsonl")(root)
    replace_with(path, KINDS[kind])
    with at_most(30), memory_at_most(2 * 1024**3):
        result = CliRunner().invoke(app, [*READ_ORDERS, "--root", str(root)], catch_exceptions=True)
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0 and "3,000 rows" in result.output, result.output
    assert path.is_dir() if kind == "folder" else (not path.is_symlink() and path.is_file()
                                                  and path.stat().st_size < 1024**2)


def test_an_audit_head_linked_elsewhere_is_not_written_through(materialized_example: tuple[Mesh, RunResult],
                                                               tmp_path: Path) -> None:
    """The head cache is rewritten in place on every append: through a link (to /etc/passwd, as
    root) that overwrote the file it named. It is refused instead, and that file is unchanged."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    head = under_mesh("audit/head.json")(root)
    replace_with(head, lambda path: path.symlink_to(victim))
    with at_most(30):
        result = CliRunner().invoke(app, [*READ_ORDERS, "--root", str(root)], catch_exceptions=True)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"error: {head}: it is a symbolic link" in result.output and "Fix: move it aside" in result.output
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("locate", "command"), [
    pytest.param(under_mesh("state/council.json"), ("list",), id="council-marker-list"),
    pytest.param(under_mesh("state/policy.digest"), ("list",), id="policy-digest-list"),
])
def test_a_special_marker_file_is_passed_over_and_rewritten(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path, locate: Callable[[Path], Path],
        command: tuple[str, ...], kind: str) -> None:
    """A marker that only spares a read of the audit log (the council's newest approval seen, the
    digest of mesh.toml last audited) is read as missing when it is no file the mesh wrote: the
    log is read instead and the marker written again (a folder cannot be replaced, and stays)."""
    _, path, result = _run_on_special(materialized_example, tmp_path, locate, kind, command)
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert path.is_dir() if kind == "folder" else (not path.is_symlink() and path.is_file()
                                                  and path.stat().st_size < 1024)


def test_a_fifo_where_the_policy_lock_is_kept_is_locked_as_a_file(materialized_example: tuple[Mesh, RunResult],
                                                                  tmp_path: Path) -> None:
    """Without the digest marker, the change of mesh.toml is checked under the lock beside it: a
    FIFO there neither blocks its opener nor fails as a stream that cannot seek."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    under_mesh("state/policy.digest")(root).unlink()
    replace_with(under_mesh("state/policy.lock")(root), _fifo)
    with at_most(30):
        result = CliRunner().invoke(app, ["list", "--root", str(root)], catch_exceptions=True)
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert under_mesh("state/policy.digest")(root).is_file()


@pytest.mark.parametrize("kind", ["fifo", "link-to-a-file-outside"])
def test_a_special_lineage_events_file_is_not_written_and_the_run_succeeds(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path, kind: str) -> None:
    """The file transport appends with ``open(path, "a")``: on a FIFO that waited for a reader for
    ever, through a link it appended to the file named. The events stay in the outbox instead (a
    data run never fails for lineage), and the miss names the file."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    path = under_mesh("lineage/events.jsonl")(root)
    replace_with(path, _fifo if kind == "fifo" else lambda p: p.symlink_to(victim))
    # in another process: the events are sent on a thread of their own, which no alarm interrupts
    done = subprocess.run([sys.executable, "-c", "from meshctl.cli.app import main; main()", "materialize",
                           "sales.daily_sales", "--root", str(root)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert victim.read_text() == "precious\n"
    status = CliRunner().invoke(app, ["lineage", "--status", "--root", str(root)])
    assert str(path) in status.output and "not a regular file" in status.output, status.output


@pytest.mark.parametrize("kind", ["fifo", "folder", "link-to-a-file-outside"])
def test_the_alert_file_notifier_refuses_a_special_file(tmp_path: Path, kind: str) -> None:
    """The file notifier appends each message: to a FIFO that waited for a reader for ever, and
    through a link it appended to the file named. Refused instead: one NotifierError naming the
    file and the fix (the message stays in the alert outbox, as for any notifier that fails)."""
    from governance.alerts import AlertMessage
    from governance.alerts.notifiers.base import NotifierError
    from governance.alerts.notifiers.file import FileNotifier
    from governance.policy.alerts import FileNotifierConfig

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    path = tmp_path / "alerts" / "alerts.jsonl"
    replace_with(path, {"fifo": _fifo, "folder": _folder}.get(kind, lambda p: p.symlink_to(victim)))
    notifier = FileNotifier(FileNotifierConfig(name="ops_file", path=str(path)), tmp_path)
    message = AlertMessage(mesh="acme", incident=1, event="alert", kind="stale", subject="sales.orders",
                           domain="sales", severity="warning", summary="stale", route="team", level=0,
                           at="2026-11-01T09:00:00.000+00:00", details={})
    with at_most(30), pytest.raises(NotifierError) as raised:
        notifier.send(message)
    assert str(path) in str(raised.value) and "Fix: move it aside" in str(raised.value), raised.value
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("kind", KINDS)
def test_a_special_compiled_mesh_is_one_error_naming_it(tmp_path: Path, kind: str) -> None:
    """Airflow's DAG files and `mesh ops` read .mesh/compiled/mesh.json: a FIFO there waited for a
    writer for ever, a sparse 10 GB file was read whole. One CompiledMeshError instead, which
    the DAG files' reader takes as "stale" (and rebuilds the file)."""
    from assets.compiled import COMPILED_PATH, CompiledMeshError, read_compiled
    from governance.compiled import current_compiled

    path = tmp_path / COMPILED_PATH
    replace_with(path, KINDS[kind])
    with at_most(30), memory_at_most(2 * 1024**3), pytest.raises(CompiledMeshError) as raised:
        read_compiled(tmp_path)
    assert str(path) in str(raised.value) and "Fix: move it aside" in str(raised.value), raised.value
    with at_most(30), memory_at_most(2 * 1024**3):
        assert current_compiled(tmp_path) is None


def test_a_fifo_where_the_compile_lock_is_kept_is_locked_as_a_file(tmp_path: Path) -> None:
    """The DAG files take the compile lock before rebuilding the compiled mesh: on a FIFO put
    there, opening it to append waited for a reader for ever."""
    from governance.compiled import _compile_lock

    replace_with(tmp_path / ".mesh/compiled/compile.lock", _fifo)
    with at_most(30), _compile_lock(tmp_path):
        pass


def test_a_fifo_where_the_current_lock_is_kept_is_locked_as_a_file(materialized_example: tuple[Mesh, RunResult],
                                                                   tmp_path: Path) -> None:
    """A publish moves CURRENT under the lock file beside it: a FIFO there neither blocks its
    opener nor fails the publish as a stream that cannot seek (`open(path, "a+b")` did)."""
    from assets import materialize
    from governance.wiring import load_mesh

    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    replace_with(_asset_folder(root, "sales.orders") / ".CURRENT.lock", _fifo)
    before = current_of("sales.orders")(root).read_text()
    with at_most(60):
        run = materialize("sales.orders", mesh=load_mesh(root), params={"scale": 50})
    assert run.results["sales.orders"].ok, run.results["sales.orders"].error
    assert current_of("sales.orders")(root).read_text() != before


def test_a_dangling_link_where_the_audit_key_belongs_is_not_written_through(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path) -> None:
    """The audit log's public key is stored when first missing: through a dangling link that
    created the file the link named. The link is left as it is, and reading the key refuses it."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    victim = tmp_path / "victim.pem"
    replace_with(under_mesh("audit/audit.ed25519.pub")(root), lambda path: path.symlink_to(victim))
    with at_most(30):
        result = CliRunner().invoke(app, [*READ_ORDERS, "--root", str(root)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output, result.output
    assert not victim.exists()


def _huge_line(path: Path) -> None:
    with open(path, "wb") as fh:
        fh.truncate(HUGE)  # sparse: no disk, but one 10 GB line to read
        fh.seek(HUGE)
        fh.write(b"\n")


@pytest.mark.parametrize("command", [("audit", "verify"), READ_ORDERS], ids=["verify", "read"])
def test_an_audit_log_of_one_10gb_line_is_one_error_not_read_whole(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path, command: tuple[str, ...]) -> None:
    """A sparse 10 GB line that ends in a newline is no torn write: it was read as a line, whole,
    into memory. A line longer than any record is refused instead, naming the file."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    log = under_mesh("audit/audit.jsonl")(root)
    replace_with(log, _huge_line)
    with at_most(60), memory_at_most(2 * 1024**3):
        result = CliRunner().invoke(app, [*command, "--root", str(root)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(log) in errors[0] and "Fix:" in errors[0], result.output


def test_a_long_line_appended_to_the_audit_log_stops_the_revocation_scan_at_once(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path) -> None:
    """Loading a mesh scans the log's new bytes for revocations a megabyte at a time, carrying an
    unfinished line to the next megabyte: a 200 MB line was carried, and copied, 200 times (a
    hang). A line longer than any record stops the scan with one error naming the log."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    log = under_mesh("audit/audit.jsonl")(root)
    with open(log, "r+b") as fh:
        fh.truncate(log.stat().st_size + 200 * 1024**2)  # sparse: 200 MB of one line, at no cost on disk
        fh.seek(0, os.SEEK_END)
        fh.write(b"\n")
    with at_most(60), memory_at_most(2 * 1024**3):
        result = CliRunner().invoke(app, [*READ_ORDERS, "--root", str(root)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert str(log) in result.output and "longer than any audit record" in result.output, result.output


def test_an_audit_lock_linked_elsewhere_is_refused_and_nothing_is_created_there(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path) -> None:
    """Every append opens the writers' lock with O_CREAT: through a dangling link that made the
    file the link named, anywhere, as root. Refused instead, naming the lock and the fix."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    victim = tmp_path / "outside" / "created.txt"
    victim.parent.mkdir()
    lock = under_mesh("audit/audit.lock")(root)
    replace_with(lock, lambda path: path.symlink_to(victim))
    with at_most(60):
        result = CliRunner().invoke(app, [*READ_ORDERS, "--root", str(root)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"{lock}: it is a symbolic link" in result.output and "Fix: move it aside" in result.output, result.output
    assert not victim.exists()


def test_a_dangling_link_as_the_state_databases_marker_still_refuses_an_emptied_database(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path) -> None:
    """The ``.created`` marker says the state database was made, so a deleted one is not started
    afresh silently. ``exists()`` follows a link: a dangling link there read as no marker, and
    the mesh started a new, empty state, the guard off for good."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    state = under_mesh("state")(root)
    for file in state.glob("mesh.sqlite*"):
        file.unlink()
    (state / "mesh.sqlite.created").symlink_to(tmp_path / "nowhere")
    with at_most(60):
        result = CliRunner().invoke(app, ["list", "--root", str(root)], catch_exceptions=True)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "the state database is empty or missing, but this mesh made it" in result.output, result.output


def test_a_drop_file_larger_than_memory_is_one_error_naming_it(materialized_example: tuple[Mesh, RunResult],
                                                               tmp_path: Path) -> None:
    """An arrived file is read whole to be parsed: a sparse 10 GB one was a MemoryError reported
    as the asset's own, naming neither the file nor a fix."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    huge = root / "drops/marketing/web_leads/leads-2099-01-01.csv"
    _huge(huge)
    then = huge.stat().st_mtime - 3600  # settled: unmodified for an hour, and newer than the sample
    os.utime(huge, (then, then))
    with at_most(60), memory_at_most(2 * 1024**3):
        result = CliRunner().invoke(app, ["observe", "marketing.web_leads", "--root", str(root)],
                                    catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and result.exit_code != 0, result.output
    assert "drops/marketing/web_leads/leads-2099-01-01.csv" in result.output, result.output
    assert "do not fit in the memory" in result.output, result.output
    assert "split it into smaller files" in result.output, result.output
