"""A corrupted stored file is one error line naming the file and the fix, exit 1, never a
traceback: each case corrupts one file of a materialized mesh and runs the command that reads it."""

from __future__ import annotations

import hashlib
import json
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from assets import Mesh
from assets.results import RunResult
from governance.audit.lines import encode_line
from meshctl.cli import app
from tests.conftest import COUNCIL, REPO

PRIVACY = ("--as", "privacy@acme.example")
READ_CUSTOMERS = ("read", "customers.customers", *PRIVACY)


def version_folder(root: Path, key: str) -> Path:
    folder = root / ".mesh/regions/us-east" / key.replace(".", "/")
    return folder / json.loads((folder / "CURRENT").read_text())["version"]


def reseal(folder: Path) -> None:
    """Give the manifest the checksum and size of the (altered) data, as a careful attacker would:
    the damage is then met where the data is used, not by the checksum."""
    manifest = json.loads((folder / "manifest.json").read_text())
    data = (folder / "data.parquet").read_bytes()
    manifest |= {"checksum": "sha256:" + hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def altered_cells(column: str) -> Callable[[Path], Path]:
    def corrupt(root: Path) -> Path:
        folder = version_folder(root, "customers.customers")
        frame = pl.read_parquet(folder / "data.parquet")
        frame.with_columns(pl.col(column).str.slice(0, 12) + "AAAA").write_parquet(folder / "data.parquet")
        reseal(folder)
        return folder / "data.parquet"
    return corrupt


def null_data_key(root: Path) -> Path:
    path = version_folder(root, "customers.customers") / "manifest.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"data_key": None}))
    return path


def truncated_kek(root: Path) -> Path:
    path = next((root / ".mesh/keys").glob("kek-*.key"))
    path.write_bytes(path.read_bytes()[:5])
    return path


def garbage(relative: str, data: bytes = b"\xffgarbage{") -> Callable[[Path], Path]:
    def corrupt(root: Path) -> Path:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path
    return corrupt


def garbage_database(root: Path) -> Path:
    """Garbage in the state database (the lineage outbox's), with no write-ahead log to rebuild it from."""
    path = root / ".mesh/state/mesh.sqlite"
    for sidecar in ("-wal", "-shm"):
        path.with_name(path.name + sidecar).unlink(missing_ok=True)
    path.write_bytes(b"garbage" * 100)
    return path


def emptied_database(root: Path) -> Path:
    """The state database emptied to 0 bytes: SQLite would open it as a new, empty one."""
    path = garbage_database(root)
    path.write_bytes(b"")
    return path


def manifest_field(key: str, **fields: object) -> Callable[[Path], Path]:
    """The current version of ``key`` with ``fields`` of its manifest.json set to other values."""
    def corrupt(root: Path) -> Path:
        path = version_folder(root, key) / "manifest.json"
        path.write_text(json.dumps(json.loads(path.read_text()) | fields))
        return path
    return corrupt


def current_holding_a_list(root: Path) -> Path:
    path = version_folder(root, "sales.orders").parent / "CURRENT"
    path.write_text("[1]")
    return path


#: JSON nested deeper than Python's stack: ``json.loads`` raises RecursionError, not ValueError.
DEEP = b"[" * 200_000


def deeply_nested(file: str) -> Callable[[Path], Path]:
    """The stored ``file`` of the current version of sales.orders (CURRENT beside it) made deeply nested JSON."""
    def corrupt(root: Path) -> Path:
        folder = version_folder(root, "sales.orders")
        path = folder.parent / file if file == "CURRENT" else folder / file
        path.write_bytes(DEEP)
        return path
    return corrupt


def deeply_nested_last_line(relative: str) -> Callable[[Path], Path]:
    """The last line of the JSON-lines file ``relative`` replaced by deeply nested JSON."""
    def corrupt(root: Path) -> Path:
        path = root / relative
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:-1]) + DEEP + b"\n")
        return path
    return corrupt


def corrupt_parquet(root: Path) -> Path:
    folder = version_folder(root, "sales.orders")
    (folder / "data.parquet").write_bytes(b"PAR1 not parquet PAR1")
    reseal(folder)
    return folder / "data.parquet"


@pytest.mark.parametrize(("corrupt", "command"), [
    pytest.param(altered_cells("email"), READ_CUSTOMERS, id="tampered-token"),
    pytest.param(altered_cells("full_name"), READ_CUSTOMERS, id="tampered-encrypted-cell"),
    pytest.param(null_data_key, READ_CUSTOMERS, id="manifest-with-a-null-data-key"),
    pytest.param(truncated_kek, READ_CUSTOMERS, id="truncated-kek-file"),
    pytest.param(garbage(".mesh/keys/data/tokenize-pii.json"), READ_CUSTOMERS, id="garbage-tokenization-key"),
    pytest.param(current_holding_a_list, ("list",), id="current-holding-a-list"),
    pytest.param(manifest_field("sales.orders", contract_version="x"), ("contract", "diff", "sales.orders"),
                 id="manifest-contract-version-not-semver-diff"),
    pytest.param(manifest_field("sales.orders", contract_version="1.x.0"), ("check",),
                 id="manifest-contract-version-not-semver-check"),
    pytest.param(manifest_field("sales.orders", contract={"amount": 5}), ("contract", "diff", "sales.orders"),
                 id="manifest-contract-of-another-shape-diff"),
    pytest.param(manifest_field("sales.orders", contract={"amount": {"dtype": "Float64"}}), ("materialize", "sales.orders"),
                 id="manifest-contract-of-another-shape-materialize"),
    pytest.param(manifest_field("customers.customers", protection={"email": "tokenize"}), READ_CUSTOMERS,
                 id="manifest-protection-without-a-classification"),
    pytest.param(garbage(".mesh/state/active_region.json"), ("list",), id="garbage-active-region"),
    pytest.param(garbage_database, ("lineage", "--status"), id="garbage-lineage-database"),
    pytest.param(garbage_database, ("materialize", "sales.daily_sales"), id="garbage-state-database-materialize"),
    pytest.param(emptied_database, ("materialize", "sales.daily_sales"), id="emptied-state-database"),
    pytest.param(corrupt_parquet, ("read", "sales.orders", "--as", "sales-data@acme.example"), id="corrupt-parquet-read"),
    pytest.param(corrupt_parquet, ("materialize", "sales.daily_sales"), id="corrupt-parquet-materialize"),
    pytest.param(deeply_nested("CURRENT"), ("list",), id="deeply-nested-current-list"),
    pytest.param(deeply_nested("CURRENT"), ("read", "sales.orders", "--as", "sales-data@acme.example"),
                 id="deeply-nested-current-read"),
    pytest.param(deeply_nested("manifest.json"), ("read", "sales.orders", "--as", "sales-data@acme.example"),
                 id="deeply-nested-manifest-read"),
    pytest.param(deeply_nested_last_line(".mesh/audit/audit.jsonl"), ("audit", "query", *PRIVACY),
                 id="deeply-nested-audit-line"),
    pytest.param(deeply_nested_last_line(".mesh/audit/checkpoints.jsonl"), ("audit", "verify"),
                 id="deeply-nested-checkpoint"),
])
def test_a_corrupted_file_is_named_with_the_fix(materialized_example: tuple[Mesh, RunResult], tmp_path: Path,
                                               corrupt: Callable[[Path], Path], command: tuple[str, ...]) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    broken = corrupt(root)
    result = CliRunner().invoke(app, [*command, "--root", str(root)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert str(broken) in result.output and "Fix:" in result.output, result.output


def rehashed_record(**fields: object) -> Callable[[Path], Path]:
    """A record appended to the audit log by hand with ``fields`` set, its hash and chain computed as
    the log computes them: only the reader's check of each field's type finds it."""
    def corrupt(root: Path) -> Path:
        path = root / ".mesh/audit/audit.jsonl"
        last = json.loads(path.read_bytes().splitlines()[-1])
        body = {**last, "seq": last["seq"] + 1, "prev": last.pop("hash"), **fields}
        with open(path, "ab") as fh:
            fh.write(encode_line(body)[0])
        return path
    return corrupt


@pytest.mark.parametrize("command", [
    pytest.param(("report", "compliance", "--format", "json", "--as", COUNCIL), id="report-compliance"),
    pytest.param(("usage", "--as", COUNCIL), id="usage"),
    pytest.param(("audit", "query", "--as", COUNCIL), id="audit-query"),
    pytest.param(("audit", "verify"), id="audit-verify"),
])
@pytest.mark.parametrize(("field", "value"), [
    pytest.param("details", 5, id="details-a-number"),
    pytest.param("actor", ["x"], id="actor-a-list"),
    pytest.param("at", "yesterday", id="at-not-a-time"),
])
def test_an_audit_record_with_a_field_of_the_wrong_type_is_named_with_the_fix(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path, command: tuple[str, ...], field: str,
        value: object) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    broken = rehashed_record(**{field: value})(root)
    line = len(broken.read_bytes().splitlines())
    result = CliRunner().invoke(app, [*command, "--root", str(root)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(broken) in result.output and f"line {line}" in result.output and "Fix:" in result.output, result.output


@pytest.mark.parametrize("details", [
    pytest.param({"rows": "many"}, id="rows-text"),
    pytest.param({"bytes": [1]}, id="bytes-a-list"),
    pytest.param({"inputs_read": 5}, id="inputs-read-a-number"),
])
def test_a_run_record_whose_details_usage_meters_are_of_the_wrong_type_is_named(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path, details: dict[str, object]) -> None:
    """The fields are of their types, but a value `mesh usage` counts is not a number (or a mapping)."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    broken = rehashed_record(action="materialize", outcome="materialized", target="sales.orders",
                             details=details)(root)
    line = len(broken.read_bytes().splitlines())
    result = CliRunner().invoke(app, ["usage", "--as", COUNCIL, "--root", str(root)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(broken) in result.output and f"line {line}" in result.output and "Fix:" in result.output, result.output


def _disk_full_at_1_kib() -> None:
    """As `ulimit -f 1` in the child: a file may not grow past 1 KiB (Python ignores SIGXFSZ, so the
    write fails with EFBIG, as it fails with ENOSPC on a full disk)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.RLIM_INFINITY))


def test_a_state_database_on_a_full_disk_is_named_with_the_fix(materialized_example: tuple[Mesh, RunResult],
                                                              tmp_path: Path) -> None:
    """SQLite says "disk I/O error" when its write-ahead log cannot grow: the error names the
    database file and says to free space, not "check the database server's log"; nothing is lost."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    mesh = [sys.executable, "-c", "from meshctl.cli.app import main; main()"]
    done = subprocess.run([*mesh, "materialize", "sales.daily_sales", "--root", str(root)], capture_output=True,
                          text=True, timeout=300, check=False, preexec_fn=_disk_full_at_1_kib)
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in output, output
    assert str(root / ".mesh/state/mesh.sqlite") in output, output
    assert "could not be written" in output and "Fix: free space on the disk" in output, output
    for command in (("audit", "verify"), ("read", "sales.daily_sales", "--as", "sales-data@acme.example")):
        after = CliRunner().invoke(app, [*command, "--root", str(root)])  # as a next process: nothing of the first
        assert after.exit_code == 0, after.output


def test_a_write_that_finds_the_disk_full_is_one_line_naming_the_file(materialized_example: tuple[Mesh, RunResult],
                                                                      tmp_path: Path) -> None:
    """The CLI's net under every command: a write that fails for want of room (ENOSPC, EDQUOT, EFBIG)
    is one line naming the file and the fix, never an OSError traceback (`mesh compile` writing
    .mesh/compiled/mesh.json; on a full tmpfs, `mesh report compliance --out` too)."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    done = subprocess.run([sys.executable, "-c", "from meshctl.cli.app import main; main()", "compile", "--root",
                           str(root)], capture_output=True, text=True, timeout=300, check=False,
                          preexec_fn=_disk_full_at_1_kib)
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in output, output
    assert f"error: {root / '.mesh/compiled/mesh.json'}: File too large" in output, output
    assert "Fix: free space on that disk" in output, output


def test_heal_reports_a_deeply_nested_manifest_as_damaged_not_a_traceback(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path) -> None:
    """`mesh ops heal --dry-run` meets the manifest while surveying: it names the damaged file."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    broken = deeply_nested("manifest.json")(root)
    result = CliRunner().invoke(app, ["ops", "heal", "--dry-run", "--root", str(root)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert broken.parent.name in result.output, result.output


def test_a_deeply_nested_proof_file_is_one_line_naming_it(materialized_example: tuple[Mesh, RunResult],
                                                         tmp_path: Path) -> None:
    proof = tmp_path / "proof.json"
    proof.write_bytes(DEEP)
    key = materialized_example[0].root / ".mesh/audit/audit.ed25519.pub"
    result = CliRunner().invoke(app, ["audit", "verify-proof", str(proof), "--key", str(key)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(proof) in result.output and "Fix:" in result.output, result.output


def test_a_file_where_the_mesh_folder_belongs_is_one_line_naming_it(tmp_path: Path) -> None:
    """A fresh clone with a stray file `.mesh` (touch .mesh): the first command that makes the
    mesh's folders names that file and says to move it aside, not a NotADirectoryError traceback."""
    root = tmp_path / "clone"
    root.mkdir()
    shutil.copy(REPO / "mesh.toml", root / "mesh.toml")
    shutil.copytree(REPO / "domains", root / "domains", ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".mesh").touch()
    done = subprocess.run([Path(sys.executable).with_name("mesh"), "audit", "verify"], cwd=root, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and f"Fix: {root / '.mesh'} is a file" in last and "move it aside" in last, last


def test_an_error_naming_a_file_with_escapes_and_a_newline_stays_one_line(tmp_path: Path) -> None:
    """The error names the file as escapes: no terminal colour, no second line forged by the name."""
    proof = tmp_path / "r-\x1b[31mRED\x1b[0m\nerror: fake line.json"
    proof.write_bytes(b"{")
    result = CliRunner().invoke(app, ["audit", "verify-proof", str(proof), "--key", str(tmp_path / "k.pub")],
                                catch_exceptions=True)
    assert result.exit_code == 1 and "\x1b" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "RED\\x1b[0m\\nerror: fake line.json" in result.stderr, \
        result.stderr
