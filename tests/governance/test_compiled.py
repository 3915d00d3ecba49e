"""Compiling a mesh for Airflow, and keeping it current at parse time: every domain judged on its
own, a stale file rebuilt in a subprocess (never parsed), a rebuild that fails reported."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from assets.compiled import COMPILED_PATH, CompiledMeshError, read_compiled
from governance.compiled import (
    compile_mesh,
    current_compiled_mesh,
    source_files,
    write_compiled_mesh,
)
from governance.handlers import HANDLER_KINDS


def test_the_example_mesh_compiles_with_access_decided(example_root: Path) -> None:
    compiled = compile_mesh(example_root)
    assert compiled.error is None and len(compiled.assets) == 18
    assert sorted(compiled.domains) == ["customers", "finance", "marketing", "sales"]
    assert not any(d.error for d in compiled.domains.values())
    assert compiled.handlers == HANDLER_KINDS
    revenue = compiled.assets["finance.revenue"]
    assert {i.key: i.access for i in revenue.inputs} == {"finance.fx_rates": "same domain 'finance'",
                                                        "sales.orders": "'sales.orders' is public"}
    assert {i.team for i in revenue.inputs} == {"sales", "finance"}
    attributed = {i.key: i.access for i in compiled.assets["sales.customer_orders"].inputs}
    assert attributed["customers.customers"].startswith("grant [[grants]][0]")
    assert compiled.fingerprint.valid_until == dt.date(2027, 6, 30)  # the grants' expiry
    orders = compiled.assets["sales.orders"]
    assert orders.pool == "mesh_sales" and orders.schedule == "@hourly" and orders.freshness_seconds == 7200
    assert "| `order_id` |" in orders.doc_md and compiled.domains["sales"].team == "sales"
    assert {f.path for f in compiled.fingerprint.files} == set(source_files(example_root))
    assert "mesh.toml" in source_files(example_root) and "domains/sales/assets.py" in source_files(example_root)


def test_a_broken_domain_is_recorded_and_the_others_compile(fixture_mesh: Callable[[str], Path]) -> None:
    root = fixture_mesh("broken_import")
    compiled = compile_mesh(root)
    assert [a.key for a in compiled.assets_of("alpha")] == ["alpha.numbers"]
    with pytest.raises(CompiledMeshError, match="the beta team broke their build") as raised:
        compiled.assets_of("beta")
    assert "domains/beta/assets.py:6" in raised.value.where


def test_a_domain_reading_a_broken_domain_gets_its_error(fixture_mesh: Callable[[str], Path]) -> None:
    root = fixture_mesh("broken_import")
    (root / "domains" / "alpha" / "assets.py").write_text(
        (root / "domains" / "alpha" / "assets.py").read_text().replace(
            "def numbers()", "def numbers(base: pl.LazyFrame)").replace(
            '@asset(contract=Numbers, contract_version="1.0.0")',
            '@asset(contract=Numbers, contract_version="1.0.0", ins={"base": "beta.base"})'))
    compiled = compile_mesh(root)
    with pytest.raises(CompiledMeshError, match="the beta team broke their build"):
        compiled.assets_of("alpha")


def test_an_invalid_mesh_toml_is_recorded_for_every_domain(example_root: Path) -> None:
    (example_root / "mesh.toml").write_text((example_root / "mesh.toml").read_text().replace(
        'jurisdiction = "us"', 'jurisdiction = "mars"', 1))
    write_compiled_mesh(example_root)
    compiled = current_compiled_mesh(example_root)  # current: the error is what these files say
    with pytest.raises(CompiledMeshError, match="unknown jurisdiction 'mars'"):
        compiled.assets_of("sales")


def test_a_stale_compiled_mesh_is_rebuilt_before_it_is_read(example_root: Path) -> None:
    assert read_compiled(example_root) is None
    first = current_compiled_mesh(example_root)  # never compiled: built in a subprocess
    assert len(first.assets) == 18
    path = example_root / COMPILED_PATH
    written = path.stat().st_ino
    code = example_root / "domains" / "finance" / "assets.py"
    stat = code.stat()
    os.utime(code, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched, not changed: kept
    assert current_compiled_mesh(example_root) is first and path.stat().st_ino == written
    code.write_text(code.read_text().replace('"""Revenue', '"""Recomputed revenue', 1))
    assert current_compiled_mesh(example_root).assets["finance.revenue"].description.startswith("Recomputed revenue")


def test_a_rebuild_that_fails_is_reported_with_the_fix(example_root: Path) -> None:
    write_compiled_mesh(example_root)
    code = example_root / "domains" / "marketing" / "assets.py"
    code.write_text("import os\nos._exit(3)  # a domain that ends the interpreter on import\n" + code.read_text())
    with pytest.raises(CompiledMeshError, match="rebuilding it failed") as raised:
        current_compiled_mesh(example_root)
    assert "domains/marketing/assets.py changed" in raised.value.what
    assert raised.value.fix == "run `mesh compile` and read its report"


def test_the_compiled_mesh_shows_the_owners_the_council_approved_not_a_hand_edit(example_root: Path) -> None:
    """Airflow's DAGs are built from the compiled mesh: an owner added by editing mesh.toml,
    not approved by the council, is in effect nowhere, so it is not compiled either."""
    mesh_file = example_root / "mesh.toml"
    text = mesh_file.read_text()
    edited = 'owners = ["sales-data@acme.example", "analyst@acme.example"]'
    mesh_file.write_text(text.replace('owners = ["sales-data@acme.example"]', edited, 1))
    compiled = compile_mesh(example_root)
    assert compiled.error is None
    assert compiled.domains["sales"].owners == ("sales-data@acme.example",)
