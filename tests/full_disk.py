"""A real full disk for tests: a small tmpfs mounted over a folder, in a private mount namespace
(``unshare --user --map-root-user --mount``, no privileges needed), so writes there fail with
ENOSPC as on a full disk, not a file-size limit or a mock.

:func:`run_on_a_full_disk` copies the folder's content onto the tmpfs, leaves ``free_pages``
pages (4 KiB each) free, runs the command in the namespace and, once it has ended, puts what the
command left on the tmpfs back in the folder: the test then reads the outcome with the usual
APIs. Every file takes at least one page on tmpfs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

PAGE = 4096

_MOUNTED = """
import os, shutil, subprocess, sys, tempfile
folder, free_pages, command = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
outside = tempfile.mkdtemp(prefix="full-disk-")
before, after = os.path.join(outside, "before"), os.path.join(outside, "after")
shutil.copytree(folder, before, symlinks=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1g", "tmpfs", folder], check=True)
shutil.copytree(before, folder, symlinks=True, dirs_exist_ok=True)
stat = os.statvfs(folder)
used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
subprocess.run(["mount", "-o", f"remount,size={used + free_pages * 4096}", folder], check=True)
done = subprocess.run(command, capture_output=True, text=True, check=False)
shutil.copytree(folder, after, symlinks=True)
subprocess.run(["umount", folder], check=True)
shutil.rmtree(folder)
shutil.copytree(after, folder, symlinks=True)
shutil.rmtree(outside)
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
sys.exit(done.returncode)
"""

MESH = (sys.executable, "-c", "from meshctl.cli.app import main; main()")


@dataclass(frozen=True, slots=True)
class FullDiskRun:
    """How a command ended on the full disk."""

    returncode: int
    output: str


def run_on_a_full_disk(folder: Path, command: Sequence[str], *, free_pages: int, cwd: Path | None = None,
                       timeout: float = 300) -> FullDiskRun:
    """Run ``command`` with ``folder`` on a tmpfs holding its content and ``free_pages`` free
    pages; afterwards ``folder`` holds what the command left there. The output's lines are
    joined (the CLI wraps at 160 columns off a terminal). Skips the test where
    unprivileged mount namespaces are not allowed."""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True, check=False).returncode:
        pytest.skip("a real full disk needs `unshare --user --mount` (unprivileged mount namespaces)")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-c", _MOUNTED,
                           str(folder), str(free_pages), *command], capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=cwd)
    return FullDiskRun(done.returncode, " ".join((done.stdout + done.stderr).split()))
