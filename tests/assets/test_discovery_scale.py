"""Loading a mesh is linear in its domains: the modules a domain's import brings in are found
without a pass over every module imported so far (counted, not timed)."""

from __future__ import annotations

from pathlib import Path

import pytest

import assets.discovery
from assets.discovery import discover

_ASSETS = '''import pandera.polars as pa
import polars as pl

from assets import asset


class Rows(pa.DataFrameModel):
    id: int


@asset(contract=Rows, contract_version="1.0.0")
def only() -> pl.DataFrame:
    return pl.DataFrame({"id": [1]})
'''


class CountingStamps(dict[str, tuple[int, int]]):
    """The stamps of imported domain modules, counting each look-up."""

    lookups = 0

    def __contains__(self, key: object) -> bool:
        self.lookups += 1
        return super().__contains__(key)


def _domains(root: Path, count: int) -> list[str]:
    names = [f"d{i:03d}" for i in range(count)]
    (root / "domains").mkdir(parents=True)
    (root / "domains" / "__init__.py").write_text("")
    for name in names:
        (root / "domains" / name).mkdir()
        (root / "domains" / name / "__init__.py").write_text("")
        (root / "domains" / name / "assets.py").write_text(_ASSETS)
    return names


def test_loading_domains_looks_at_each_new_module_a_bounded_number_of_times(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = _domains(tmp_path, 60)
    stamps = CountingStamps()
    monkeypatch.setattr(assets.discovery, "_IMPORTED", stamps)
    found = discover(tmp_path, dict.fromkeys(names))
    assert not found.errors and len(found.definitions) == 60
    domain_modules = [n for n in stamps if n.startswith("domains.")]
    assert len(domain_modules) == 120  # each domain's package and its assets module, each stamped
    assert stamps.lookups <= 4 * len(domain_modules)  # a pass over all modules per import: ~60 * 120


def test_a_domain_module_changed_on_disk_is_imported_again(tmp_path: Path) -> None:
    names = _domains(tmp_path, 2)
    first = discover(tmp_path, dict.fromkeys(names))
    assert [d.key for d in first.definitions] == ["d000.only", "d001.only"]
    changed = tmp_path / "domains" / "d001" / "assets.py"
    changed.write_text(_ASSETS.replace("def only", "def renamed"))
    again = discover(tmp_path, dict.fromkeys(names))
    assert [d.key for d in again.definitions] == ["d000.only", "d001.renamed"]
