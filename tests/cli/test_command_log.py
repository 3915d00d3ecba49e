"""The mesh's own log warnings reach a person through the command's output path: one
``warning: ...`` line on stderr, each text once per command, never a bare line without the
prefix (Python's last-resort handler printed ``marketing.lead_counts is deprecated: ...`` in
`mesh dr drill`, `mesh ops simulate` and `mesh demo --in-process`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

DEPRECATED = "marketing.lead_counts is deprecated: kept up until 2027-03-31, replaced by marketing.leads_by_channel"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("MESH_ROOT", "COLUMNS")} | {"COLUMNS": "400"}


def test_a_deprecated_asset_is_one_prefixed_warning_line(example_root: Path) -> None:
    done = subprocess.run([str(REPO / ".venv/bin/mesh"), "materialize", "+marketing.lead_counts", "--scale", "50",
                           "--root", str(example_root)], capture_output=True, text=True, env=_env(), check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines.count(f"warning: {DEPRECATED}") == 1, done.stderr
    assert not any(line.startswith("marketing.lead_counts is deprecated") for line in lines), done.stderr
    assert "Traceback" not in done.stderr


SCRIPT = """
import logging
from meshctl.cli._output import route_logs
route_logs()
log = logging.getLogger("governance.anything")
log.warning("the same twice")
log.warning("the same twice")
log.warning("a\\nforged line \\x1b[31mred")
log.error("%s and %s", "one argument only")
logging.getLogger("assets.x").info("info is not shown")
logging.getLogger("domains.sales.assets").warning("a domain's own warning")
"""


def test_log_lines_are_prefixed_printable_once_and_never_a_traceback() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=_env(), check=False,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["warning: the same twice", "warning: a\\nforged line \\x1b[31mred",
                                        "error: %s and %s", "warning: a domain's own warning"], done.stderr
