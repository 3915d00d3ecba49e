"""A file a person names on the command line (a report, a proof, its key, a data contract) is read
bounded and without waiting: a FIFO, a device or a folder is one line naming it, never a wait for
a writer that never comes, nor an endless read of ``/dev/zero``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assets.named_files import TooLarge, read_named_file
from tests.conftest import copy_example_mesh

MESH = [sys.executable, "-c", "from meshctl.cli.app import main; main()"]


@pytest.fixture(scope="module")
def mesh_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The commands run in a mesh's folder, as `mesh report verify` needs one."""
    return copy_example_mesh(tmp_path_factory.mktemp("named"))


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "named.json"
    os.mkfifo(path, 0o600)
    return path


def _folder(tmp_path: Path) -> Path:
    path = tmp_path / "named.json"
    path.mkdir()
    return path


@pytest.mark.parametrize("named", [
    pytest.param(_fifo, id="fifo"),
    pytest.param(lambda _: Path("/dev/zero"), id="endless-device"),
    pytest.param(_folder, id="folder"),
])
@pytest.mark.parametrize("command", [
    pytest.param(lambda f, key: ["audit", "verify-proof", f, "--key", key], id="verify-proof"),
    pytest.param(lambda f, key: ["audit", "verify-proof", key, "--key", f], id="verify-proof-key"),
    pytest.param(lambda f, _: ["report", "verify", f], id="report-verify"),
    pytest.param(lambda f, _: ["contract", "import", f], id="contract-import"),
])
def test_a_named_file_that_is_no_regular_file_is_one_line(mesh_root: Path, tmp_path: Path,
                                                          named: Callable[[Path], Path],
                                                          command: Callable[[str, str], list[str]]) -> None:
    path = named(tmp_path)
    key = tmp_path / "key.pem"
    key.write_bytes(b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
    done = subprocess.run([*MESH, *command(str(path), str(key))], capture_output=True, text=True, timeout=120,
                          cwd=mesh_root, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(path) in last and "Fix:" in last, last


def test_a_named_file_is_read_whole_up_to_its_bound_and_refused_beyond(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_named_file(path, 10) == b"x" * 10
    with pytest.raises(TooLarge):
        read_named_file(path, 9)
    link = tmp_path / "link"
    link.symlink_to(path)
    assert read_named_file(link, 10) == b"x" * 10


@pytest.mark.parametrize("named", [pytest.param(_fifo, id="fifo"), pytest.param(_folder, id="folder")])
def test_an_out_file_that_is_no_regular_file_is_refused_and_left_as_it_was(mesh_root: Path, tmp_path: Path,
                                                                            named: Callable[[Path], Path]) -> None:
    """An atomic write replaces what stands at the path: as root, `--out /dev/full` replaced the
    device with a file. The write is refused instead, and the FIFO or folder is still there."""
    from typer.testing import CliRunner

    from meshctl.cli import app

    path = named(tmp_path)
    kind = path.stat().st_mode
    done = CliRunner().invoke(app, ["contract", "export", "sales.orders", "--out", str(path), "--root",
                                    str(mesh_root)])
    assert done.exit_code == 1, done.output
    assert f"error: {path}: is a " in done.output and "not a regular file" in done.output, done.output
    assert "Fix: name a new file" in done.output
    assert path.stat().st_mode == kind


def test_an_out_file_replaces_a_regular_file_and_makes_its_folder(tmp_path: Path) -> None:
    from assets.named_files import write_named_file

    target = tmp_path / "new" / "report.json"
    write_named_file(target, b"one")
    write_named_file(target, b"two")
    assert target.read_bytes() == b"two"
