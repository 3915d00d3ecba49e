"""Discovery and the graph: every structural error names the assets involved and the fix."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assets import (
    CycleError,
    DuplicateAssetError,
    Mesh,
    QuotaExceededError,
    UndeclaredDomainError,
    UnknownInputError,
)
from assets.errors import ConfigError, DomainImportError
from governance.wiring import load_mesh


def test_healthy_mesh_builds_a_graph_in_topological_order(fixture_mesh: Callable[[str], Path]) -> None:
    mesh = load_mesh(fixture_mesh("healthy"))
    order = list(mesh.graph)
    assert set(order) == {"alpha.numbers", "alpha.evens", "alpha.total", "beta.base", "beta.doubled", "beta.from_alpha",
                          "beta.either"}
    assert order.index("alpha.numbers") < order.index("beta.from_alpha")
    assert mesh.graph.upstream("beta.from_alpha") == ("alpha.numbers",)
    assert set(mesh.graph.downstream("alpha.numbers")) == {"alpha.evens", "alpha.total", "beta.from_alpha", "beta.either"}


def test_a_cycle_names_every_asset_in_it(fixture_mesh: Callable[[str], Path]) -> None:
    with pytest.raises(CycleError) as caught:
        load_mesh(fixture_mesh("cyclic"))
    text = str(caught.value)
    for key in ("alpha.first", "alpha.second", "alpha.third"):
        assert key in text
    assert "assets.py:" in text and "break the cycle" in text


def test_a_mistyped_input_suggests_the_near_name(fixture_mesh: Callable[[str], Path]) -> None:
    with pytest.raises(UnknownInputError) as caught:
        load_mesh(fixture_mesh("missing_input"))
    text = str(caught.value)
    assert "'alpha.evens'" in text and "'alpha.numbrs'" in text
    assert "Did you mean 'alpha.numbers'?" in text


def test_two_assets_with_one_key_are_refused(fixture_mesh: Callable[[str], Path]) -> None:
    with pytest.raises(DuplicateAssetError) as caught:
        load_mesh(fixture_mesh("duplicate"))
    assert "'alpha.numbers'" in str(caught.value)
    assert str(caught.value).count("assets.py:") == 2


def test_a_domain_over_its_quota_lists_its_assets(fixture_mesh: Callable[[str], Path]) -> None:
    with pytest.raises(QuotaExceededError) as caught:
        load_mesh(fixture_mesh("quota"))
    text = str(caught.value)
    assert "3 assets, over its max_assets of 2" in text
    assert "alpha.one, alpha.three, alpha.two" in text
    assert "[domains.alpha].max_assets" in text


def test_an_undeclared_domain_is_refused(fixture_mesh: Callable[[str], Path]) -> None:
    with pytest.raises(UndeclaredDomainError) as caught:
        load_mesh(fixture_mesh("undeclared"))
    text = str(caught.value)
    assert "domain 'gamma' is not declared in mesh.toml" in text
    assert "[domains.gamma]" in text


def test_an_undeclared_domain_is_refused_before_its_code_runs(fixture_mesh: Callable[[str], Path]) -> None:
    root = fixture_mesh("undeclared")
    with pytest.raises(UndeclaredDomainError):
        load_mesh(root)
    assert not [name for name in sys.modules if name.startswith("domains.gamma")]


def test_a_domain_that_raises_on_import_does_not_hide_the_others(fixture_mesh: Callable[[str], Path]) -> None:
    root = fixture_mesh("broken_import")
    with pytest.raises(DomainImportError, match="the beta team broke their build"):
        load_mesh(root)
    mesh = load_mesh(root, strict=False)
    assert list(mesh.graph) == ["alpha.numbers"]
    assert set(mesh.errors) == {"beta"}
    assert "domains/beta/assets.py:6" in mesh.errors["beta"].where



def test_a_domain_that_exits_on_import_is_reported_like_one_that_raises(fixture_mesh: Callable[[str], Path]) -> None:
    root = fixture_mesh("broken_import")
    assets = root / "domains" / "beta" / "assets.py"
    assets.write_text(assets.read_text().replace('raise RuntimeError("the beta team broke their build")',
                                                 "import sys\nsys.exit(3)"))
    mesh = load_mesh(root, strict=False)
    assert list(mesh.graph) == ["alpha.numbers"]
    assert "SystemExit" in mesh.errors["beta"].what and "Fix:" in str(mesh.errors["beta"])

@pytest.mark.parametrize(("domain", "line", "what"), [
    pytest.param("alpha", 6, "ShapeError: could not create a new DataFrame", id="raised-inside-polars"),
    pytest.param("beta", 7, "DefinitionError: asset 'beta.numbers': contract_version 'one'", id="refused-by-asset"),
])
def test_an_import_error_names_the_domains_own_file_and_line(fixture_mesh: Callable[[str], Path], domain: str,
                                                             line: int, what: str) -> None:
    root = fixture_mesh("broken_deep")
    error = load_mesh(root, strict=False).errors[domain]
    assert error.where == f"{(root / 'domains' / domain / 'assets.py').resolve()}:{line}"
    assert what in error.what and "Fix:" in str(error) and str(error).count("Fix:") == 1


def test_a_syntax_error_in_a_domain_names_its_line(fixture_mesh: Callable[[str], Path]) -> None:
    root = fixture_mesh("broken_deep")
    (root / "domains/alpha/assets.py").write_text("import polars as pl\n\ndef numbers(:\n")
    error = load_mesh(root, strict=False).errors["alpha"]
    assert error.where.endswith("domains/alpha/assets.py:3")


def test_a_missing_mesh_toml_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_mesh(tmp_path / "nowhere")
    assert "does not exist" in str(caught.value)
    assert "create mesh.toml" in caught.value.fix


def test_meshes_loaded_one_after_another_do_not_mix(fixture_mesh: Callable[[str], Path],
                                                    example_mesh: Mesh) -> None:
    assert "sales.orders" in example_mesh.graph
    healthy = load_mesh(fixture_mesh("healthy"))
    assert "sales.orders" not in healthy.graph
    assert healthy.graph["alpha.numbers"].fn.__module__ == "domains.alpha.assets"
