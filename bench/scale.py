"""Scale: the mesh's commands on synthetic meshes of 100, 1,000 and 10,000 assets, with each
step's growth per 10x assets. Target: 10x the assets costs at most 10x the time (no step
grows faster than the mesh).

The mesh is :func:`bench.synthetic.write_mesh`'s: 20 assets per domain, each domain a chain,
every third asset also reading the previous domain, 10 rows each, and a standby region (each
publish is replicated, so ``dr status`` has replicas to compare). ``SIZES=100,1000`` limits
the sizes (at least 40 assets each: two domains); ``STEPS=select,impact`` runs only the steps
whose label holds one of those words (without ``materialize``, the later steps meet an empty
store: the walks are the same, but ``mesh list``, ``lineage`` and ``dr status`` read no version).

How each step runs:

- In a fresh process, the ``mesh`` CLI: ``mesh check``, ``mesh list`` and
  ``mesh list 'd001.*+'``. A fresh process imports every domain's code, which a process that
  has loaded the mesh once skips; the CLI's start-up alone (``mesh --help``) is printed beside.
- In this process, the functions the CLI calls after loading the mesh, where a process would
  only add the start-up: ``Mesh.select`` (the selection of ``mesh list``/``mesh
  materialize``), downstream ``d001.*+`` and upstream ``+<last asset>`` (the last domain's
  last asset); ``impact_of`` (``mesh lineage --impact``) and ``lineage_of`` (``mesh lineage``, which reads the version of
  each asset it reaches) from the first asset; ``materialize`` (``mesh materialize '*'``, every
  update handler, once per size); ``dr_status`` (``mesh dr status``) on the mesh loaded
  without domain code, as the command loads it.

Every in-process step runs once on a small mesh first, unmeasured, so the first size does not
pay the process's imports, and once unmeasured at each size before it is timed.

A query's growth is also given per 10x of the assets it reaches: ``d001.*+`` reaches 71 of
100 assets but 836 of 1,000, so linear work grows 11.8x there. A reference step, one dict pass
over every asset's edges, is linear by construction: its growth shows what the machine's
caches make of 10x the data (from 1,000 to 10,000 keys, about 12-14x here even in a fresh
process), which a walk's growth is to be read against.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from assets import Mesh, materialize
from bench._timing import measure
from bench.synthetic import write_mesh
from governance.dr import dr_status
from governance.lineage import impact_of, lineage_of
from governance.wiring import load_mesh, load_policy_mesh

PER_DOMAIN = 20
DEFAULT_SIZES = (100, 1_000, 10_000)
#: 10x the assets may cost at most this many times the time.
TARGET = 10.0
MESH = str(Path(sys.executable).parent / "mesh")


@dataclass(frozen=True, slots=True)
class Step:
    """One measured step: its label, and the call to time given the mesh's root."""

    label: str
    run: Callable[[Path], Callable[[], object]]
    process: bool = False  # runs the CLI in a fresh process (not worth a warm-up)
    once: bool = False  # changes the mesh (materialize): one run, unrepeated
    reached: Callable[[Any], int] | None = None  # a query's count of the assets it returns


@dataclass(frozen=True, slots=True)
class Sample:
    """A step's median ``seconds`` on a mesh, and the ``reached`` assets of a query."""

    seconds: float
    reached: int | None = None


def _cli(label: str, *args: str) -> Step:
    def prepare(root: Path) -> Callable[[], object]:
        command = [MESH, *args] + ([] if args == ("--help",) else ["--root", str(root)])
        return lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return Step(label, prepare, process=True)


def _in_process(label: str, call: Callable[[Mesh], object], *, load: Callable[[Path], Mesh],
                once: bool = False, reached: Callable[[Any], int] | None = None) -> Step:
    """A step run on the mesh as ``load`` gives it, loaded before the clock starts."""
    def prepare(root: Path) -> Callable[[], object]:
        mesh = load(root)
        return lambda: call(mesh)
    return Step(label, prepare, once=once, reached=reached)


def _steps(domains: int) -> list[Step]:
    last = f"+d{domains - 1:03d}.a{PER_DOMAIN - 1:03d}"
    meshes: dict[Path, Mesh] = {}

    def mesh(root: Path) -> Mesh:
        """The mesh with its domains' code, loaded once per root, as a command has it after
        ``open_mesh``."""
        if root not in meshes:
            meshes[root] = load_mesh(root)
        return meshes[root]

    return [
        _cli("CLI start-up alone (mesh --help, a process)", "--help"),
        _cli("mesh check (a process)", "check"),
        _in_process("materialize '*' (in-process, every handler, 10 rows each)",
                    lambda m: materialize("*", mesh=m), load=mesh, once=True),
        _cli("mesh list (a process)", "list"),
        _cli("mesh list 'd001.*+' (a process)", "list", "d001.*+"),
        _in_process("reference: one dict pass over every asset's readers (in-process)", _dict_pass, load=mesh),
        _in_process("select 'd001.*+' downstream (in-process)", lambda m: m.select("d001.*+"), load=mesh,
                    reached=len),
        _in_process("select '+<last asset>' upstream (in-process)", lambda m: m.select(last), load=mesh,
                    reached=len),
        _in_process("lineage --impact d000.a000 (in-process)", lambda m: impact_of(m, "d000.a000"), load=mesh,
                    reached=lambda impact: len(impact.assets)),
        _in_process("lineage d000.a000, with versions (in-process)", lambda m: lineage_of(m, "d000.a000"),
                    load=mesh, reached=lambda view: len(view.upstream) + len(view.downstream)),
        _in_process("dr status (in-process)", dr_status, load=load_policy_mesh),
    ]


def _dict_pass(mesh: Mesh) -> dict[str, str]:
    """Linear by construction: one dict look-up and one store per asset and edge. Its growth is
    what this machine's memory makes of 10x the data for work that is linear."""
    seen: dict[str, str] = {}
    for key in mesh.graph.assets:
        for reader in mesh.graph.downstream(key):
            seen[reader] = key
    return seen


def _sizes() -> list[int]:
    text = os.environ.get("SIZES", "")
    sizes = sorted({int(s) for s in text.replace(" ", "").split(",") if s}) if text else list(DEFAULT_SIZES)
    if any(n < 2 * PER_DOMAIN for n in sizes):
        sys.exit(f"SIZES: each size is at least {2 * PER_DOMAIN} assets (two domains of {PER_DOMAIN})")
    return sizes


def _per_10x(n1: int, t1: float, n2: int, t2: float) -> float:
    """The time's growth for 10x the work, from two sizes of it."""
    return (t2 / t1) ** (1 / math.log10(n2 / n1)) if n2 != n1 else math.inf


def _growth(n1: int, a: Sample, n2: int, b: Sample) -> str:
    """The growth per 10x assets in the mesh, and per 10x assets a query reached, with the verdict
    (on the assets reached for a query: the work it must do)."""
    mesh = _per_10x(n1, a.seconds, n2, b.seconds)
    if a.reached is None or b.reached is None:
        return f"{mesh:.2f}x per 10x assets ({'met' if mesh <= TARGET else 'MISSED'})"
    reached = _per_10x(a.reached, a.seconds, b.reached, b.seconds)
    return (f"{mesh:.2f}x per 10x assets in the mesh, {reached:.2f}x per 10x assets reached "
            f"({a.reached:,} -> {b.reached:,}) ({'met' if reached <= TARGET else 'MISSED'})")


def _time(step: Step, root: Path) -> Sample:
    """Seconds of ``step``. A process: median of 3 runs, or one run when it takes over 10 s.
    An in-process query: one unmeasured run (a command's first call builds its services), then
    the best of as many runs as fit in about 0.5 s (3 to 200), as ``timeit`` reports, since
    only the least disturbed run shows the step's own cost on a shared machine. A step that
    changes the mesh runs once."""
    call, last = step.run(root), []
    if not (step.process or step.once):
        call()
    first = measure(lambda: last.append(call()), repeat=1, warmup=0).samples[0]
    reached = step.reached(last[0]) if step.reached else None
    if step.once or step.process and first > 10:
        return Sample(first, reached)
    if step.process:
        return Sample(statistics.median([first, *measure(call, repeat=2, warmup=0).samples]), reached)
    runs = max(3, min(200, math.ceil(0.5 / max(first, 1e-6))))
    return Sample(min([first, *measure(call, repeat=runs - 1, warmup=0).samples]), reached)


def _run_size(tmp: Path, assets: int, *, warm_up: bool = False) -> dict[str, Sample]:
    domains = assets // PER_DOMAIN
    root = tmp / f"mesh-{domains * PER_DOMAIN}"
    write_mesh(root, domains=domains, assets_per_domain=PER_DOMAIN, rows=10, standby=True)
    times: dict[str, Sample] = {}
    wanted = [w for w in os.environ.get("STEPS", "").split(",") if w.strip()]
    for step in _steps(domains):
        if wanted and not any(w.strip() in step.label for w in wanted):
            continue
        if warm_up:  # the process's imports and first calls
            if not step.process:
                step.run(root)()
            continue
        sample = times[step.label] = _time(step, root)
        reached = f" ({sample.reached:,} assets reached)" if sample.reached is not None else ""
        print(f"  {domains * PER_DOMAIN:,} assets: {step.label}: {_seconds(sample.seconds)}{reached}", flush=True)
    return times


def _seconds(t: float) -> str:
    return f"{t * 1000:.2f} ms" if t < 1 else f"{t:.2f} s"


def main() -> None:
    sizes = _sizes()
    print(f"scale: synthetic meshes of {', '.join(f'{n:,}' for n in sizes)} assets ({PER_DOMAIN} per domain, "
          f"every third also reading the previous domain, 10 rows, a standby region); target: 10x the assets, "
          f"at most {TARGET:.0f}x the time" + (f"; only the steps {os.environ['STEPS']}" if os.environ.get("STEPS")
                                                else ""), flush=True)
    results: dict[int, dict[str, Sample]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        _run_size(Path(tmp), 2 * PER_DOMAIN, warm_up=True)  # imports and first-call costs
        for n in sizes:
            results[n] = _run_size(Path(tmp), n)
            if len(results) > 1:
                _summary(results)
    if len(results) == 1:
        _summary(results)


def _summary(results: dict[int, dict[str, Sample]]) -> None:
    sizes = sorted(results)
    print(f"scale, at {' / '.join(f'{n:,}' for n in sizes)} assets (processes: medians; in-process: best runs):",
          flush=True)
    for label in results[sizes[0]]:
        times = " / ".join(_seconds(results[n][label].seconds) for n in sizes)
        growth = "; ".join(_growth(a, results[a][label], b, results[b][label]) for a, b in pairwise(sizes))
        print(f"  {label}: {times}" + (f" -> {growth}" if growth else ""), flush=True)


if __name__ == "__main__":
    main()
