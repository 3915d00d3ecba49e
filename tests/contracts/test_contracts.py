"""Contract tests, generated from the asset graph: one set per asset, no test code per asset.

For every asset: its real output passes its contract, and for every rule of the contract a
sample changed to break exactly that rule (derived from the pandera schema by
:func:`assets.testing.rules`) is rejected, naming that rule. A domain team runs just theirs
with ``pytest -k sales`` (or ``-m contract``).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

import polars as pl
import pytest

from assets import Mesh, RunResult, run_gate
from assets.gate_plan import every_rule_holds
from assets.graph import AssetGraph
from assets.testing import rules
from governance.protection import unprotect
from governance.services import governed
from governance.wiring import load_mesh
from tests.conftest import copy_example_mesh

pytestmark = pytest.mark.contract


@functools.cache
def _example_graph(folder: str) -> AssetGraph:
    """The example mesh's graph, from an enrolled copy (the repo's own grants are unsigned)."""
    return load_mesh(copy_example_mesh(Path(folder) / "mesh")).graph


_COPY = pytest.StashKey[str]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if _COPY not in metafunc.config.stash:
        folder = metafunc.config.stash[_COPY] = tempfile.mkdtemp(prefix="mesh-contracts-")
        metafunc.config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    graph = _example_graph(metafunc.config.stash[_COPY])
    if "rule_id" in metafunc.fixturenames:
        cases = [pytest.param(key, r.id, id=f"{key}-{r.id}") for key in graph for r in rules(graph[key].spec.contract)]
        metafunc.parametrize(("key", "rule_id"), cases)
    elif "key" in metafunc.fixturenames:
        metafunc.parametrize("key", [pytest.param(k, id=k) for k in graph])


def _sample(materialized: tuple[Mesh, RunResult], key: str) -> tuple[type, pl.DataFrame]:
    """The first rows of the asset's current version, in plaintext (as a reader allowed to
    decrypt every classification sees them)."""
    mesh, _ = materialized
    store = mesh.store()
    partition = store.partitions(key)[-1] if mesh.graph[key].spec.partitions is not None else None  # today's
    manifest = store.require_current(key, partition)
    frame = store.scan(key, partition=partition).head(5).collect()
    everything = {f"decrypt:{c}" for c in mesh.policy.classifications}
    plain = unprotect(frame, manifest.protection, manifest.data_key, governed(mesh).keyring, key=key,
                      permissions=everything)
    return mesh.graph[key].spec.contract, plain


def test_valid_sample_passes(materialized_example: tuple[Mesh, RunResult], key: str) -> None:
    contract, sample = _sample(materialized_example, key)
    assert sample.height >= 2, f"{key} produced fewer than 2 rows at test scale"
    report = run_gate(contract, sample)
    assert report.passed, report.describe()
    assert every_rule_holds(contract, sample) is True, "the one-query gate must pass what pandera passes"


def test_each_rule_rejects_its_crafted_row(materialized_example: tuple[Mesh, RunResult], key: str,
                                           rule_id: str) -> None:
    contract, sample = _sample(materialized_example, key)
    rule = next(r for r in rules(contract) if r.id == rule_id)
    report = run_gate(contract, rule.breaks(sample))
    if not rule.blocking:  # a warning check publishes, and says so
        assert report.passed, f"warning check {rule_id} blocked: {report.describe()}"
        assert (rule.column, rule.check) in {(w.column, w.check) for w in report.warnings}
        assert [w.rows for w in report.warnings if (w.column, w.check) == (rule.column, rule.check)] == [1]
        return
    assert not report.passed, f"{rule_id} did not reject its crafted row"
    assert every_rule_holds(contract, rule.breaks(sample)) is not True, f"the one-query gate let {rule_id} pass"
    failed = {(f.column, f.check) for f in report.failures}
    assert (rule.column, rule.check) in failed
    if rule.check.startswith("dtype("):
        # A column of the wrong type also fails the string checks pandera cannot run on it.
        assert {column for column, _ in failed} == {rule.column}
    else:
        assert failed == {(rule.column, rule.check)}, "the crafted row broke more than its rule"
