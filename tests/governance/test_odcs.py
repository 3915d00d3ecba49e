"""Contracts as Open Data Contract Standard documents: export, import, and the round trip."""

from __future__ import annotations

import datetime as dt
import glob
import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets import Mesh, RunResult, materialize
from assets.errors import MeshError
from governance.contracts import OdcsError, OdcsImportError, import_odcs, odcs_document
from governance.contracts.odcs_export import to_yaml, validate_document
from governance.contracts.odcs_rules import _FIELD_KEYWORD
from tests.conftest import TEST_SCALE


def _load_module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pandera resolves annotations in the class's module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def _props(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in document["schema"][0]["properties"]}


def test_export_says_types_rules_classification_owners_sla_and_servers(
        materialized_example: tuple[Mesh, RunResult]) -> None:
    mesh, _ = materialized_example
    doc = odcs_document(mesh, "customers.customers")
    assert (doc["apiVersion"], doc["kind"], doc["version"], doc["status"], doc["domain"]) == \
        ("v3.1.0", "DataContract", "1.0.0", "active", "customers")
    props = _props(doc)
    assert props["customer_id"] | {} == {"name": "customer_id", "logicalType": "integer", "physicalType": "BIGINT",
                                         "required": True, "unique": True, "primaryKey": True,
                                         "logicalTypeOptions": {"minimum": 1}}
    assert props["signup_date"]["logicalTypeOptions"] == {"minimum": "2015-01-01"}
    assert props["country"]["quality"][0]["metric"] == "invalidValues"
    # protected columns: the file holds tokens/cipher text, the value rules hold on the plaintext
    email, name = props["email"], props["full_name"]
    assert (email["classification"], email["physicalType"], email["logicalType"]) == ("pii", "VARCHAR", "string")
    assert {"property": "protection", "value": "tokenize"} in email["customProperties"]
    assert {"property": "protection", "value": "encrypt"} in name["customProperties"]
    assert "logicalTypeOptions" not in email and email["quality"][0]["type"] == "text"
    assert "plaintext" in email["quality"][0]["description"]
    assert doc["team"]["members"] == [{"username": "customers-data@acme.example", "role": "owner"}]
    assert {(s["property"], s["value"], s["unit"]) for s in doc["slaProperties"]} == \
        {("freshness", 25, "h"), ("retention", 2555, "d")}
    current = mesh.store().current_version("customers.customers")
    assert [s["server"] for s in doc["servers"]] == ["us-east", "us-west"]
    for server in doc["servers"]:
        assert server["type"] == "local" and server["format"] == "parquet" and current in server["path"]
        assert pl.read_parquet(server["path"])["email"].str.starts_with("tok:").all()


def test_a_partitioned_assets_servers_hold_every_partition_in_each_region(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path) -> None:
    """Not the newest partition's file: the asset's folder with its partition layout, per region."""
    from governance.wiring import load_mesh

    key = "sales.daily_orders"
    shutil.copytree(materialized_example[0].root, tmp_path / "mesh", symlinks=True)
    mesh = load_mesh(tmp_path / "mesh")
    assert materialize(key, mesh=mesh, params={"scale": TEST_SCALE, "seed": 11}, partition="2026-11-17").ok
    doc = odcs_document(mesh, key)
    assert [s["server"] for s in doc["servers"]] == list(mesh.regions.storage)
    assert "publishedVersion" not in {p["property"] for p in doc["customProperties"]}
    for server in doc["servers"]:
        store = mesh.store(server["server"])
        partitions = store.partitions(key)
        assert len(partitions) > 1, "the example publishes several partitions"
        current = {store.data_path(key, store.current_version(key, p) or "", p) for p in partitions}
        assert current <= set(glob.glob(server["path"]))  # every partition's current file, in this region
        assert server["path"].endswith(f"/{key.replace('.', '/')}/*/*/data.parquet")
        assert "every partition" in server["description"]
        custom = {c["property"]: c["value"] for c in server["customProperties"]}
        assert custom == {"partitions": mesh.graph[key].spec.partitions.to_dict(),
                          "pathLayout": "<partition>/<version>/data.parquet"}


def test_composite_unique_and_freshness_in_hours(materialized_example: tuple[Mesh, RunResult]) -> None:
    mesh, _ = materialized_example
    rates = odcs_document(mesh, "finance.fx_rates")
    assert rates["schema"][0]["quality"][0] == {"type": "library", "metric": "duplicateValues", "name": "unique",
                                               "arguments": {"properties": ["rate_date", "currency"]},
                                               "mustBe": 0, "severity": "error"}
    assert _props(rates)["rate_to_usd"]["logicalTypeOptions"] == {"minimum": 0.001, "maximum": 10.0}
    orders = odcs_document(mesh, "sales.orders")
    assert ("freshness", 2, "h") in {(s["property"], s["value"], s["unit"]) for s in orders["slaProperties"]}


def test_round_trip_of_every_asset_gives_an_equivalent_document(
        materialized_example: tuple[Mesh, RunResult], tmp_path: Path) -> None:
    mesh, _ = materialized_example
    assert len(mesh.graph) >= 13
    for key in mesh.graph:
        first = odcs_document(mesh, key)
        source = tmp_path / f"{key}.yaml"
        source.write_text(to_yaml(first))
        imported = import_odcs(source)
        # a custom check's code is not in the document: reported with its fix, never dropped silently
        assert {u.rule for u in imported.unsupported} == _custom_checks(first), key
        module_file = tmp_path / f"contracts_{key.replace('.', '_')}.py"
        module_file.write_text(imported.source())
        model = getattr(_load_module(module_file, f"odcs_round_trip_{key.replace('.', '_')}"), imported.class_name)
        assert odcs_document(mesh, key, contract=model) == _without_custom_checks(first), key
    assert _custom_checks(odcs_document(mesh, "sales.orders")) == {"below_review_threshold"}


def _is_custom(rule: dict[str, Any]) -> bool:
    carried = [p["value"] for p in rule.get("customProperties") or () if p["property"] == "panderaCheck"]
    return bool(carried) and carried[0]["name"] not in _FIELD_KEYWORD


def _custom_checks(document: dict[str, Any]) -> set[str]:
    return {r["name"] for obj in document["schema"] for owner in (obj, *obj["properties"])
            for r in owner.get("quality") or () if _is_custom(r)}


def _without_custom_checks(document: dict[str, Any]) -> dict[str, Any]:
    def strip(owner: dict[str, Any]) -> dict[str, Any]:
        kept = [r for r in owner.get("quality") or () if not _is_custom(r)]
        return {k: v for k, v in owner.items() if k != "quality"} | ({"quality": kept} if kept else {})

    return document | {"schema": [strip(obj) | {"properties": [strip(p) for p in obj["properties"]]}
                                  for obj in document["schema"]]}


class _Custom(pa.DataFrameModel):
    """A contract with what ODCS has no standard form for."""

    a: int = pa.Field(notin=[3], nullable=True, description="the a")
    b: float = pa.Field(ge=0, raise_warning=True)
    c: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 9, "include_max": False})
    d: dt.datetime = pa.Field(str_length=None)

    @pa.dataframe_check
    def a_small(cls, df: Any) -> Any:
        """a is below 5."""
        return df.lazyframe.select(pl.col("a") < 5)


def test_custom_checks_are_described_and_reported_by_name_on_import(example_mesh: Mesh, tmp_path: Path) -> None:
    doc = odcs_document(example_mesh, "sales.orders", contract=_Custom)
    props = _props(doc)
    assert props["a"]["quality"][0]["type"] == "text" and props["a"]["required"] is False
    assert props["b"]["quality"][0]["severity"] == "warning"
    assert props["c"]["physicalType"] == "INTEGER"
    assert props["c"]["logicalTypeOptions"] == {"minimum": 1, "exclusiveMaximum": 9}
    assert props["d"]["logicalType"] == "timestamp"
    frame_rule = doc["schema"][0]["quality"][0]
    assert (frame_rule["type"], frame_rule["name"], frame_rule["description"]) == ("text", "a_small", "a is below 5.")
    source = tmp_path / "custom.yaml"
    source.write_text(to_yaml(doc))
    imported = import_odcs(source)
    assert [u.rule for u in imported.unsupported] == ["a_small"]
    assert "@pa.dataframe_check" in imported.unsupported[0].fix
    assert "# - " in imported.source() and "a_small" in imported.source()
    # what it could declare, it declared: a document equivalent but for the custom check
    model = imported.load()
    again = odcs_document(example_mesh, "sales.orders", contract=model)
    assert _props(again) == props
    assert "quality" not in again["schema"][0]


def test_a_type_without_an_odcs_form_is_refused_with_the_column(example_mesh: Mesh) -> None:
    class Nested(pa.DataFrameModel):
        tags: pl.List(pl.String)  # type: ignore[valid-type]

    with pytest.raises(OdcsError, match=r"column 'tags' has type List\(String\).*Fix: declare it as one of"):
        odcs_document(example_mesh, "sales.orders", contract=Nested)


def _document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "x", "version": "1.0.0", "domain": "sales",
        "schema": [{"name": "things", "properties": [{"name": "id", "logicalType": "integer", "required": True}]}]}
    return base | changes


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("apiVersion: [unclosed", r"bad\.yaml:\d+:\d+: not YAML .*Fix: correct the YAML", id="not-yaml"),
    pytest.param("- a\n- b\n", r"not an ODCS document .*Fix: write an ODCS v3 document", id="not-a-mapping"),
    pytest.param(yaml.safe_dump(_document(schema="things")), r"not a valid ODCS document: schema.*Fix:",
                 id="fails-the-model"),
    pytest.param(yaml.safe_dump(_document(apiVersion="v9")), r"not a valid ODCS document at apiVersion.*Fix:",
                 id="fails-the-json-schema"),
    pytest.param(yaml.safe_dump(_document(schema=[{"name": "things", "properties": [
        {"name": "tags", "logicalType": "array"}]}])),
        r"property 'tags' has physicalType None and logicalType 'array'.*Fix: use a logicalType of", id="type"),
    pytest.param(yaml.safe_dump(_document(domain="Sales Team")), r"domain 'Sales Team' is not a mesh name.*Fix:",
                 id="domain"),
    pytest.param(yaml.safe_dump(_document(schema=[])), r"0 schema object.*Fix: add a schema", id="no-schema"),
])
def test_bad_documents_are_refused_naming_the_file_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(OdcsImportError, match=message) as caught:
        import_odcs(path)
    assert str(path) in str(caught.value)


def test_foreign_document_rules_become_fields(tmp_path: Path) -> None:
    doc = _document(schema=[{"name": "things", "quality": [{"type": "custom", "name": "no_future", "engine": "soda",
                                                            "implementation": "row_count > 0"}],
                             "properties": [
        {"name": "id", "logicalType": "integer", "physicalType": "int", "primaryKey": True, "required": True,
         "quality": [{"type": "library", "metric": "duplicateValues", "mustBe": 0}]},
        {"name": "code", "logicalType": "string", "physicalType": "varchar(3)",
         "logicalTypeOptions": {"pattern": "[A-Z]+", "maxLength": 3},
         "quality": [{"metric": "invalidValues", "arguments": {"validValues": ["ABC", "XYZ"]}, "mustBe": 0,
                      "severity": "warning"}]},
        {"name": "rows", "logicalType": "integer", "quality": [{"metric": "rowCount", "mustBeGreaterThan": 5}]}]}])
    path = tmp_path / "foreign.yaml"
    path.write_text(yaml.safe_dump(doc))
    imported = import_odcs(path)
    columns = {c.name: dict(c.keywords) for c in imported.columns}
    assert columns["id"] == {"unique": True, "metadata": {"primary_key": True}}
    assert columns["code"] == {"str_length": {"max_value": 3}, "str_contains": "[A-Z]+", "nullable": True}
    assert {u.rule for u in imported.unsupported} == {"no_future", "rowCount", "invalidValues"}
    assert "raise_warning=True" in next(u.fix for u in imported.unsupported if u.rule == "invalidValues")
    imported.load()


def _seed_text() -> str:
    return yaml.safe_dump(_document(schema=[{"name": "things", "quality": [
        {"type": "library", "metric": "duplicateValues", "arguments": {"properties": ["id", "day"]}, "mustBe": 0}],
        "properties": [
            {"name": "id", "logicalType": "integer", "physicalType": "BIGINT", "required": True, "unique": True,
             "logicalTypeOptions": {"minimum": 1}},
            {"name": "day", "logicalType": "date", "logicalTypeOptions": {"minimum": "2026-01-01"}},
            {"name": "kind", "logicalType": "string", "classification": "pii",
             "customProperties": [{"property": "protection", "value": "tokenize"}],
             "quality": [{"type": "text", "name": "isin", "customProperties": [
                 {"property": "panderaCheck", "value": {"name": "isin", "allowed_values": ["a", "b"]}}]}]}]}]),
        sort_keys=False)


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=6), st.just("2026-13-01"),
                    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _paths(v, (*prefix, i))
    return found


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_documents_import_or_fail_with_a_mesh_error(tmp_path: Path, data: st.DataObject) -> None:
    """Whatever is changed in a document (a value replaced, a key dropped, the text cut or
    spliced), import gives a contract that loads or a MeshError naming the file, never a traceback."""
    text = _seed_text()
    how = data.draw(st.sampled_from(["value", "drop", "cut", "splice"]))
    if how in ("value", "drop"):
        doc = yaml.safe_load(text)
        path = data.draw(st.sampled_from(_paths(doc)))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if how == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_VALUES)
        text = yaml.safe_dump(doc, sort_keys=False)
    elif how == "cut":
        text = text[:data.draw(st.integers(0, len(text)))]
    else:
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.text(alphabet=":-[]{}'\" \n#&*!|>abc1", max_size=8)) + text[at:]
    path = tmp_path / "mutated.yaml"
    path.write_text(text)
    try:
        imported = import_odcs(path)
    except MeshError as exc:
        assert str(path) in str(exc) and "Fix:" in str(exc)
    else:
        imported.load()
        compile(imported.source(), str(path), "exec")


def test_validation_refuses_a_key_the_model_does_not_know() -> None:
    document = _document()
    document["schema"][0]["properties"][0]["colour"] = "red"
    with pytest.raises(OdcsError, match="keys or values the ODCS model does not keep, first at /schema/0/properties/0/colour"):
        validate_document(document, where="test")


def test_an_s3_region_is_an_s3_server_and_an_unpublished_asset_points_at_every_version(
        example_root: Path, s3_bucket: str) -> None:
    from governance.wiring import load_mesh
    from tests.s3 import standby_on_s3

    standby_on_s3(example_root, s3_bucket)
    doc = odcs_document(load_mesh(example_root), "sales.products")
    primary, standby = doc["servers"]
    assert (primary["type"], primary["environment"]) == ("local", "primary")
    assert primary["path"].endswith("/us-east/sales/products/*/data.parquet")
    assert standby == {"server": "us-west", "environment": "secondary", "format": "parquet", "type": "s3",
                       "location": f"s3://{s3_bucket}/us-west/sales/products/*/data.parquet",
                       "description": "Region us-west (secondary): every version of the asset (none is published "
                                      "yet), one Parquet file per version."}
    assert "publishedVersion" not in {p["property"] for p in doc["customProperties"]}


def test_a_redacted_column_is_optional_in_the_file_and_required_on_the_plaintext(
        example_root: Path, tmp_path: Path) -> None:
    from governance.wiring import load_mesh

    toml = example_root / "mesh.toml"
    toml.write_text(toml.read_text().replace('[classification.restricted]\nprotection = "encrypt"',
                                             '[classification.restricted]\nprotection = "redact"'))
    mesh = load_mesh(example_root)
    doc = odcs_document(mesh, "customers.customers")
    full_name = _props(doc)["full_name"]
    assert full_name["required"] is False
    assert {"property": "plaintextRequired", "value": True} in full_name["customProperties"]
    assert "empty (redacted)" in full_name["quality"][0]["description"]
    source = tmp_path / "c.yaml"
    source.write_text(to_yaml(doc))
    assert odcs_document(mesh, "customers.customers", contract=import_odcs(source).load()) == doc
