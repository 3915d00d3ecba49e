"""datacontract-cli, the ODCS reference tool, on every exported contract of the example mesh:
``datacontract lint`` accepts the document and ``datacontract test`` passes against each
region's Parquet file of the published version (protected columns included: they are declared
as the VARCHAR tokens and cipher text the file holds).

datacontract-cli cannot be installed beside Airflow 3 (it pins older typer and rich), so it runs
as an isolated tool (``uv tool run``) from the package registry; the test is skipped, saying so,
only when the registry cannot be reached.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from assets import Mesh, RunResult
from governance.contracts.odcs_export import odcs_document, to_yaml

TOOL = "datacontract-cli[duckdb,parquet]==1.2.8"
#: The only warning datacontract-cli may give: it does not check column types in Parquet files.
TYPES_NOT_CHECKED = "Checking types in parquet files is not supported yet."
_OFFLINE = ("failed to fetch", "dns error", "error sending request", "connection refused", "could not connect",
            "network is unreachable", "timed out", "failed to download")


@pytest.fixture(scope="module")
def datacontract() -> list[str]:
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("datacontract-cli runs through uv, which is not on PATH here")
    command = [uv, "tool", "run", "--from", TOOL, "datacontract"]
    done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        if any(word in done.stderr.lower() for word in _OFFLINE):
            pytest.skip(f"datacontract-cli could not be installed: the package registry is unreachable "
                        f"({done.stderr.strip().splitlines()[-1]})")
        pytest.fail(f"datacontract-cli did not start: {done.stderr}")
    return command


#: datacontract-cli's own lint and test, for many documents in one process of the tool (each
#: ``datacontract`` command pays seconds of start-up; the commands themselves are run below too).
_DRIVER = """
import json, sys
from datacontract.data_contract import DataContract
runs = {}
for path in sys.argv[1:]:
    runs[path] = {"lint": DataContract(data_contract_file=path).lint().model_dump(mode="json"),
                  "test": DataContract(data_contract_file=path).test().model_dump(mode="json")}
print(json.dumps(runs))
"""


def _test(datacontract: list[str], contract: Path) -> tuple[int, dict[str, Any], str]:
    report = contract.with_suffix(".json")
    done = subprocess.run([*datacontract, "test", str(contract), "--output-format", "json", "--output", str(report)],
                          capture_output=True, text=True, timeout=600)
    return done.returncode, json.loads(report.read_text()), done.stdout + done.stderr


def _assert_green(key: str, document: dict[str, Any], report: dict[str, Any], output: str) -> None:
    results = {c["result"] for c in report["checks"]}
    assert results <= {"passed", "warning"}, f"{key}: {output}"
    assert {c["reason"] for c in report["checks"] if c["result"] == "warning"} <= {TYPES_NOT_CHECKED}, key
    passed = [c for c in report["checks"] if c["result"] == "passed"]
    assert len(passed) >= 2 * len(document["schema"][0]["properties"]), key  # every column, in every region


def _export(mesh: Mesh, key: str, folder: Path) -> tuple[dict[str, Any], Path]:
    document = odcs_document(mesh, key)
    assert all(glob.glob(s["path"]) for s in document["servers"]), key  # a partitioned asset's: every partition
    contract = folder / f"{key}.odcs.yaml"
    contract.write_text(to_yaml(document))
    return document, contract


def test_the_datacontract_commands_lint_and_test_an_exported_contract_with_protected_columns(
        materialized_example: tuple[Mesh, RunResult], datacontract: list[str], tmp_path: Path) -> None:
    mesh, _ = materialized_example
    document, contract = _export(mesh, "customers.customers", tmp_path)
    lint = subprocess.run([*datacontract, "lint", str(contract)], capture_output=True, text=True, timeout=600)
    assert lint.returncode == 0 and "valid" in lint.stdout, lint.stdout + lint.stderr
    code, report, output = _test(datacontract, contract)
    assert code == 0, output
    _assert_green("customers.customers", document, report, output)


def test_every_exported_contract_lints_and_tests_green_on_the_stored_parquet(
        materialized_example: tuple[Mesh, RunResult], datacontract: list[str], tmp_path: Path) -> None:
    mesh, _ = materialized_example
    exported = {key: _export(mesh, key, tmp_path) for key in mesh.graph}
    python = [*datacontract[:-1], "python", "-c", _DRIVER]
    done = subprocess.run([*python, *(str(c) for _, c in exported.values())], capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout.strip().splitlines()[-1])
    for key, (document, contract) in exported.items():
        run = runs[str(contract)]
        assert run["lint"]["result"] == "passed", f"{key}: {run['lint']}"
        _assert_green(key, document, run["test"], json.dumps(run["test"]["checks"], indent=1))


def test_datacontract_test_fails_when_the_stored_data_breaks_the_exported_rules(
        materialized_example: tuple[Mesh, RunResult], datacontract: list[str], tmp_path: Path) -> None:
    """The green runs above are not vacuous: tighten one exported rule and the same file fails it."""
    mesh, _ = materialized_example
    document = odcs_document(mesh, "sales.orders")
    quantity = next(p for p in document["schema"][0]["properties"] if p["name"] == "quantity")
    quantity["logicalTypeOptions"] = {"minimum": 1, "maximum": 1}
    contract = tmp_path / "orders.odcs.yaml"
    contract.write_text(to_yaml(document))
    code, report, output = _test(datacontract, contract)
    failed = [c for c in report["checks"] if c["result"] == "failed"]
    assert code != 0 and failed and all(c["field"] == "quantity" for c in failed), output
