"""The command line's start: `mesh --help`, `mesh ops --help` and a mistyped argument, each in
a fresh process, against the same for a bare typer app of one command in the same interpreter.

Every command module is imported (typer builds the whole tree), none of the engine: polars,
pandera, SQLAlchemy and the lineage and Airflow clients are imported when a command on data
runs (``tests/cli/test_startup.py`` keeps it so). The baseline is what any typer CLI with rich
help pays. Interleaved, medians of 7 after one warm-up round.

Target: each at most 2x the bare typer app.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from bench._timing import measure_interleaved, report

TARGET = 2.0
_MESH = "from meshctl.cli import main; main()"
_BARE = ("import typer\napp = typer.Typer(add_completion=False)\n"
         "@app.command()\ndef hello(name: str) -> None:\n    'Say hello.'\n    print(name)\n"
         "@app.command()\ndef bye(name: str) -> None:\n    'Say goodbye.'\n    print(name)\n"
         "app()")
CASES = {"mesh --help": ["--help"], "mesh ops --help": ["ops", "--help"], "mesh read --limit x": ["read", "--limit", "x"]}


def _run(code: str, argv: list[str]) -> Callable[[], object]:
    def run() -> object:
        return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, check=False)
    return run


def main() -> None:
    fns = {name: _run(_MESH, argv) for name, argv in CASES.items()}
    fns["typer --help"] = _run(_BARE, ["--help"])
    found = measure_interleaved(fns, repeat=7)
    for name in CASES:
        report(name, found[name], found["typer --help"], target=TARGET, baseline_name="a bare typer app's --help")


if __name__ == "__main__":
    main()
