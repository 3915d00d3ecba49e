"""Observed sources (@source_asset): files dropped from outside the mesh are observed, gated and
published through the engine's step, and what they feed runs; half-written files are never read."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from assets import DefinitionError, SelectionError, Status, observe, source_asset
from assets.arrivals import read_newest
from assets.drops import TEMPORARY_SUFFIXES, Drop, complete_files, drop_problem
from assets.errors import CorruptDataError
from governance.services import governed
from governance.wiring import load_mesh, load_policy_mesh
from meshctl.cli import app
from tests.conftest import copy_example_mesh

SOURCE = "marketing.web_leads"
FED = ("marketing.leads_by_channel", "marketing.lead_counts")
DROP = Path("drops/marketing/web_leads")
HEADER = "lead_id,email,channel,signed_up,campaign_id\n"
GOOD = HEADER + "1,a@mail.example,web,2026-11-20,3\n2,b@mail.example,store,2026-11-21,4\n"


def drop(root: Path, name: str, text: str | bytes, *, age: float = 60.0) -> Path:
    """Drop a file as a writer should: under a temporary name, renamed into place; last modified
    ``age`` seconds ago (it stopped growing then)."""
    folder = root / DROP
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{name}.tmp"
    temporary.write_bytes(text.encode() if isinstance(text, str) else text)
    os.replace(temporary, folder / name)
    then = time.time() - age
    os.utime(folder / name, (then, then))
    return folder / name


@pytest.fixture(scope="module")
def observed_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example mesh whose source observed the example's own drop once."""
    root = copy_example_mesh(tmp_path_factory.mktemp("observed"))
    result = observe("*", mesh=load_mesh(root))
    assert result.ok, result.to_dict()
    return root


@pytest.fixture
def root(observed_once: Path, tmp_path: Path) -> Path:
    """A private copy of ``observed_once`` (storage included) for a test that changes it."""
    import shutil

    target = tmp_path / "mesh"
    shutil.copytree(observed_once, target, symlinks=True)
    return target


def test_the_first_observation_publishes_the_drop_and_runs_what_it_feeds(observed_once: Path) -> None:
    store = load_mesh(observed_once).store()
    source = store.current(SOURCE)
    assert source is not None and source.rows == 24
    assert source.observed is not None and source.observed["file"] == "leads-2026-11-01.csv"
    assert source.observed["uri"] == "drops/marketing/web_leads/leads-2026-11-01.csv"
    assert source.observed["bytes"] == (observed_once / DROP / "leads-2026-11-01.csv").stat().st_size
    assert len(source.observed["sha256"]) == 64
    for key in FED:
        fed = store.current(key)
        assert fed is not None and dict(fed.input_versions) == {SOURCE: source.version}, key


def test_observing_again_with_nothing_new_publishes_nothing(root: Path) -> None:
    mesh = load_mesh(root)
    before = {k: mesh.store().current_version(k) for k in (SOURCE, *FED)}
    again = observe("*", mesh=mesh)
    assert again.ok
    assert dict((k, r.status) for k, r in again.results.items()) == {SOURCE: Status.UNCHANGED}
    assert again[SOURCE].note == "nothing new arrived in drops/marketing/web_leads/*.csv"
    assert {k: mesh.store().current_version(k) for k in before} == before


def test_a_new_file_is_a_new_version_and_what_it_feeds_runs_on_it(root: Path) -> None:
    drop(root, "leads-2026-11-22.csv", GOOD, age=5)
    mesh = load_mesh(root)
    result = observe("*", mesh=mesh)
    assert {k: r.status for k, r in result.results.items()} == {k: Status.MATERIALIZED for k in (SOURCE, *FED)}
    source = mesh.store().current(SOURCE)
    assert source is not None and source.rows == 2 and source.observed is not None
    assert source.observed["file"] == "leads-2026-11-22.csv"
    by_channel = mesh.store().scan_manifest(mesh.store().require_current(FED[0])).collect()
    assert by_channel.sort("channel")["channel"].to_list() == ["store", "web"]
    assert observe("*", mesh=mesh)[SOURCE].status is Status.UNCHANGED


def test_the_same_name_with_other_contents_is_new(root: Path) -> None:
    drop(root, "leads-2026-11-01.csv", GOOD)  # replaced in place by a rename: same name, other bytes
    result = observe(SOURCE, mesh=load_mesh(root))
    assert result[SOURCE].status is Status.MATERIALIZED and result[SOURCE].manifest.rows == 2  # type: ignore[union-attr]


@pytest.mark.parametrize("name", [".leads-2026-11-23.csv", "_leads-2026-11-23.csv", "~leads-2026-11-23.csv",
                                  *(f"leads-2026-11-23.csv{s}" for s in TEMPORARY_SUFFIXES)])
def test_a_file_under_a_temporary_name_is_not_read(root: Path, name: str) -> None:
    folder = root / DROP
    (folder / name).write_text(GOOD)
    old = time.time() - 600
    os.utime(folder / name, (old, old))
    mesh = load_mesh(root)
    assert observe("*", mesh=mesh)[SOURCE].status is Status.UNCHANGED


def test_a_symbolic_link_in_a_drop_is_not_an_arrival(root: Path, tmp_path: Path) -> None:
    """A link to a file outside the drop (here a valid CSV, so the contract would pass it) was
    followed and published as the source's new version: whoever may write to the drop could
    publish any file the mesh's process can read."""
    outside = tmp_path / "outside.csv"
    outside.write_text(GOOD)
    link = root / DROP / "leads-2026-11-25.csv"
    link.symlink_to(outside)
    old = time.time() - 600
    os.utime(outside, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    assert observe(SOURCE, mesh=load_mesh(root))[SOURCE].status is Status.UNCHANGED


def test_a_file_still_growing_is_not_read_until_it_settles(root: Path) -> None:
    """A writer writing in place under the final name: not read while it was modified less than
    ``settle`` (2 s) ago; read once it stayed unmodified that long."""
    growing = root / DROP / "leads-2026-11-24.csv"
    growing.write_text(HEADER + "1,a@mail.example,web,2026-11-2")  # cut in the middle of a row
    mesh = load_mesh(root)
    spec = mesh.graph[SOURCE].spec
    assert spec.drop is not None and spec.drop.settle == 2.0
    modified = growing.stat().st_mtime
    names = [s.name for s in complete_files(spec.drop, root, now=modified + 1.9)]
    assert "leads-2026-11-24.csv" not in names
    future = time.time() + 3600  # still being written, as far as the clock of this run can tell
    os.utime(growing, (future, future))
    assert observe("*", mesh=mesh)[SOURCE].status is Status.UNCHANGED
    growing.write_text(GOOD)  # finished
    settled = time.time() - 5
    os.utime(growing, (settled, settled))
    assert [s.name for s in complete_files(spec.drop, root, now=time.time())][-1] == "leads-2026-11-24.csv"
    assert observe("*", mesh=mesh)[SOURCE].status is Status.MATERIALIZED


@pytest.mark.parametrize(("row", "rule"), [
    ("1,a@mail.example,fax,2026-11-20,3", "isin"),
    ("1,not-an-address,web,2026-11-20,3", "str_matches"),
    ("0,a@mail.example,web,2026-11-20,3", "greater_than_or_equal_to"),
    ("1,a@mail.example,web,2025-12-31,3", "greater_than_or_equal_to"),
])
def test_bad_rows_are_quarantined_and_nothing_is_published(root: Path, row: str, rule: str) -> None:
    mesh = load_mesh(root)
    before = {k: mesh.store().current_version(k) for k in (SOURCE, *FED)}
    drop(root, "leads-2026-11-25.csv", HEADER + row + "\n")
    result = observe("*", mesh=mesh)
    assert list(result.results) == [SOURCE] and result[SOURCE].status is Status.GATE_FAILED
    assert rule in result[SOURCE].error  # type: ignore[operator]
    quarantine = result[SOURCE].quarantine
    assert quarantine is not None and Path(quarantine, "report.md").exists()
    assert {k: mesh.store().current_version(k) for k in before} == before


@pytest.mark.parametrize(("contents", "why"), [
    pytest.param(b"\x00\xff\xfe garbage \x00" * 50, "binary", id="binary"),
    pytest.param(HEADER + "one,a@mail.example,web,2026-11-20,3\n", "lead_id", id="text-in-an-integer-column"),
    pytest.param(HEADER + "1,a@mail.example,web,yesterday,3\n", "signed_up", id="not-a-date"),
    pytest.param(b"", "empty", id="empty"),
    pytest.param('lead_id,email\n1,"never closed\n', "quote", id="unclosed-quote"),
])
def test_a_hostile_file_is_a_clear_error_naming_it(root: Path, contents: str | bytes, why: str) -> None:
    mesh = load_mesh(root)
    before = mesh.store().current_version(SOURCE)
    drop(root, "leads-2026-11-26.csv", contents)
    result = observe("*", mesh=mesh)
    r = result[SOURCE]
    assert r.status in (Status.ERROR, Status.GATE_FAILED), r
    if r.status is Status.ERROR:
        assert "leads-2026-11-26.csv" in r.error and "Fix:" in r.error and "Traceback" not in r.error  # type: ignore[operator]
        assert r.attempts == 1  # a broken file is not retried
    assert mesh.store().current_version(SOURCE) == before


@pytest.mark.parametrize(("contents", "said"), [
    pytest.param(HEADER + "one,a@mail.example,web,2026-11-20,3\n", "could not parse `one` as dtype `i64` at column "
                 "'lead_id'", id="text-in-an-integer-column"),
    pytest.param("lead_id,email,channel,signed_up\n1,a@mail.example,web,2026-11-20\n",
                 'the file has no column the source reads (unable to find column "campaign_id"', id="a-missing-column"),
])
def test_a_bad_file_is_said_to_be_the_files_fault_without_the_readers_advice(root: Path, contents: str,
                                                                             said: str) -> None:
    """The person who dropped the file is told what is wrong with it: not polars' advice to its own
    callers (infer_schema_length, ignore_errors), nor an exception that reads like a bug of the code."""
    drop(root, "leads-2026-11-26.csv", contents)
    error = observe("*", mesh=load_mesh(root))[SOURCE].error or ""
    assert said in error and "leads-2026-11-26.csv" in error, error
    assert "infer_schema_length" not in error and "ignore_errors" not in error and "raised" not in error, error


def test_a_parquet_drop_and_a_truncated_parquet_file(root: Path) -> None:
    assets_py = root / "domains" / "marketing" / "assets.py"
    assets_py.write_text(assets_py.read_text().replace('drops/marketing/web_leads/*.csv', 'drops/marketing/web_leads/*.parquet'))
    frame = pl.read_csv(io.StringIO(GOOD), try_parse_dates=True)
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    drop(root, "leads-1.parquet", buffer.getvalue()[:-20])  # the footer is missing
    mesh = load_mesh(root)
    broken = observe("*", mesh=mesh)[SOURCE]
    assert broken.status is Status.ERROR and "leads-1.parquet" in broken.error  # type: ignore[operator]
    drop(root, "leads-2.parquet", buffer.getvalue())
    assert observe("*", mesh=mesh)[SOURCE].status is Status.MATERIALIZED


def test_a_source_on_an_object_store_prefix(root: Path, s3_bucket: str) -> None:
    import s3fs

    assets_py = root / "domains" / "marketing" / "assets.py"
    assets_py.write_text(assets_py.read_text().replace(
        'drop="drops/marketing/web_leads/*.csv"', f'drop="s3://{s3_bucket}/inbox/leads/*.csv", settle="0s"'))
    fs = s3fs.S3FileSystem()
    fs.pipe(f"{s3_bucket}/inbox/leads/_leads-1.csv", GOOD.encode())  # a temporary name: not read
    mesh = load_mesh(root)
    assert observe("*", mesh=mesh)[SOURCE].status is Status.UNCHANGED
    fs.pipe(f"{s3_bucket}/inbox/leads/leads-1.csv", GOOD.encode())
    result = observe("*", mesh=mesh)
    assert result[SOURCE].status is Status.MATERIALIZED
    observed = mesh.store().current(SOURCE).observed  # type: ignore[union-attr]
    assert observed is not None and observed["uri"] == f"s3://{s3_bucket}/inbox/leads/leads-1.csv"
    assert observed["sha256"] == hashlib.sha256(GOOD.encode()).hexdigest() and observed["bytes"] == len(GOOD)
    assert result[FED[0]].status is Status.MATERIALIZED
    assert observe("*", mesh=mesh)[SOURCE].status is Status.UNCHANGED


def test_observe_refuses_a_selection_without_a_source(observed_once: Path) -> None:
    with pytest.raises(SelectionError, match="names no observed source"):
        observe("sales.*", mesh=load_mesh(observed_once))


def test_mesh_observe_publishes_and_is_audited(root: Path) -> None:
    drop(root, "leads-2026-11-27.csv", GOOD)
    done = CliRunner().invoke(app, ["observe", "--root", str(root)])
    assert done.exit_code == 0, done.output
    assert "1 of 1 source(s) published a new version: marketing.web_leads" in done.output
    again = CliRunner().invoke(app, ["observe", "marketing.*", "--root", str(root), "--json"])
    assert again.exit_code == 0, again.output
    assert {r["key"]: r["status"] for r in json.loads(again.stdout)["assets"]} == {SOURCE: "unchanged"}
    records = [r for r in governed(load_policy_mesh(root)).audit.records()
               if r.action == "materialize" and r.target == SOURCE]
    assert records[-2].actor == "service:marketing" and records[-2].outcome == "materialized"
    assert records[-2].details["observed"]["file"] == "leads-2026-11-27.csv"
    assert records[-1].outcome == "unchanged" and "observed" not in records[-1].details
    refused = CliRunner().invoke(app, ["observe", "sales.orders", "--root", str(root)])
    assert refused.exit_code == 1 and "names no observed source" in refused.output and "Traceback" not in refused.output


# -- definitions --------------------------------------------------------------------------------


class _Leads:  # a contract, taken from the example mesh
    from domains.marketing.contracts import WebLeads as contract


def _source(**kwargs: object) -> object:
    def leads(arrived: pl.LazyFrame) -> pl.LazyFrame:
        return arrived

    leads.__module__ = "domains.marketing.assets"
    options = {"drop": "drops/x/*.csv", "contract": _Leads.contract, "contract_version": "1.0.0", **kwargs}
    return source_asset(**options)(leads)  # type: ignore[arg-type]


def test_a_valid_source_definition() -> None:
    d = _source(settle="0s")
    assert d.key == "marketing.leads" and d.spec.is_root and d.spec.drop == Drop("drops/x/*.csv", settle=0.0)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("location", "message"), [
    ("leads.csv", "is not '<folder>/<glob>'"),
    ("drops/*/leads.csv", "wildcard before its last part"),
    ("drops/../../etc/*.csv", "climbs out"),
    ("drops/x/*.json", "does not end in .csv or .parquet"),
    ("s3:///x/*.csv", "names no bucket"),
    ("gs://bucket/x/*.csv", "neither a local folder nor s3://"),
])
def test_a_bad_drop_is_refused(location: str, message: str) -> None:
    with pytest.raises(DefinitionError, match="source asset 'leads'") as caught:
        _source(drop=location)
    assert message in str(caught.value) and "Fix:" in str(caught.value)


def test_a_bad_settle_and_bad_parameters_are_refused() -> None:
    with pytest.raises(DefinitionError, match="bad drop or settle"):
        _source(settle="soon")

    def two(arrived: pl.LazyFrame, orders: pl.LazyFrame) -> pl.LazyFrame:
        return arrived

    two.__module__ = "domains.marketing.assets"
    with pytest.raises(DefinitionError, match="an observed source takes the arrived rows first"):
        source_asset(drop="drops/x/*.csv", contract=_Leads.contract, contract_version="1.0.0")(two)
    with pytest.raises(DefinitionError, match="has no contract"):
        _source(contract=None)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_temporary_names_never_match(name: str) -> None:
    assert drop_problem("drops/x/*.csv") is None
    d = Drop("drops/x/*.csv", settle=0)
    for temporary in (f".{name}.csv", f"_{name}.csv", f"{name}.csv.part", f"{name}.csv.tmp"):
        assert not d.matches(temporary)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400) | st.text(max_size=300).map(lambda t: (HEADER + t).encode()))
def test_any_bytes_are_read_or_refused_clearly(tmp_path: Path, contents: bytes) -> None:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / "x.csv").write_bytes(contents)
    try:
        found = read_newest("marketing.web_leads", Drop(f"{folder}/*.csv", settle=0), _Leads.contract, tmp_path,
                            None)
    except CorruptDataError as exc:
        assert "x.csv" in str(exc) and "Fix:" in str(exc)
    else:
        assert found is not None and isinstance(found.frame.collect(), pl.DataFrame)


HOSTILE_NAME = "leads-\x1b[31mRED\x1b[0m\nfake line: all ok.csv"


@pytest.mark.parametrize("content", [GOOD, "not,a\ncsv\x00file"], ids=["published", "refused"])
def test_mesh_observe_shows_a_hostile_file_name_without_terminal_escapes_or_a_forged_line(root: Path,
                                                                                        content: str) -> None:
    """A drop file named with ESC sequences and a newline: the CLI shows them as escapes, so the
    terminal neither turns red nor shows a line the mesh did not print."""
    drop(root, HOSTILE_NAME, content)
    done = CliRunner().invoke(app, ["observe", SOURCE, "--root", str(root)])
    assert "Traceback" not in done.output
    assert "\x1b" not in done.output, done.output
    assert not any(line.startswith("fake line") for line in done.output.splitlines()), done.output
    if content != GOOD:  # the refusal still names the file, escaped
        assert "leads-\\x1b[31mRED\\x1b[0m\\nfake line: all ok.csv" in done.output.replace("\n", ""), done.output
