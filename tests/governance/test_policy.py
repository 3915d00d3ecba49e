"""mesh.toml becomes typed, validated policies; every problem is reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.errors import ConfigError
from governance.check import check_mesh
from governance.policy import PolicyErrors, load_policy
from tests.conftest import REPO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mesh.toml"
    path.write_text(text)
    return path


def test_the_example_policy_loads() -> None:
    policy = load_policy(REPO / "mesh.toml")
    assert policy.settings.name == "acme"
    assert policy.primary.name == "us-east" and policy.secondary is not None
    assert policy.domains["sales"].pool_slots == 4 and policy.domains["sales"].max_assets == 50
    assert policy.classifications["pii"].protection == "tokenize"
    assert policy.grants[0].product == "customers.customers" and policy.grants[0].expires is not None
    assert "decrypt:pii" in policy.roles["council"].permissions


def test_a_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_policy(write(tmp_path, '[mesh]\nname = "x"\nprimary_region = = "a"\n'))
    assert caught.value.where.endswith("mesh.toml:3:18")


def test_a_string_left_open_is_named_as_such(tmp_path: Path) -> None:
    """tomllib says "Illegal character '\\n'" for a string the line ends inside: say what it means."""
    with pytest.raises(ConfigError) as caught:
        load_policy(write(tmp_path, '[mesh]\nname = "x\nprimary_region = "a"\n'))
    assert "a string not closed before the end of its line" in str(caught.value)
    assert caught.value.where.endswith("mesh.toml:2:10")


@pytest.mark.parametrize(("edit", "message"), [
    pytest.param(('jurisdiction = "us"', 'jurisdiction = "mars"'), "[regions.us-east].jurisdiction: unknown jurisdiction 'mars'",
                 id="unknown-jurisdiction"),
    pytest.param(('protection = "tokenize"', 'protection = "scramble"'), "unknown protection 'scramble'",
                 id="unknown-protection"),
    pytest.param(('[classification.pii]\nprotection = "tokenize"', '[classification.pii]'), "'protection' is missing",
                 id="classification-without-protection"),
    pytest.param(('primary_region = "us-east"', 'primary_region = "us-est"'), "'us-east'?",
                 id="unknown-primary-region"),
    pytest.param(("max_assets = 50", "max_asets = 50"), "Did you mean 'max_assets'", id="mistyped-key"),
    pytest.param(("max_assets = 50", 'max_assets = "fifty"'), "'max_assets' must be an integer, not str", id="wrong-type"),
    pytest.param(('owners = ["sales-data@acme.example"]', 'owners = ["sales team"]'), "is not an e-mail address",
                 id="bad-owner"),
    pytest.param(('owners = ["sales-data@acme.example"]', 'owners = ["../../tmp/x@acme.example"]'),
                 "is not an e-mail address", id="owner-with-a-path"),
    pytest.param(('members = ["analyst@acme.example"]',
                  'members = ["analyst@acme.example", "ape@acme.example", "\u0430\u0440\u0435@acme.example"]'),
                 "[roles.analyst].members: '\u0430\u0440\u0435@acme.example' reads as 'ape@acme.example'",
                 id="a-look-alike-address-in-another-script"),
    pytest.param(('consumer = "sales"', 'consumer = "sails"'), "Did you mean 'sales'", id="grant-unknown-domain"),
    pytest.param(('residency = ["us"]', 'residency = ["eu"]'), "outside residency ['eu']", id="residency-vs-primary"),
    pytest.param(('permissions = ["approve_grant"', 'permissions = ["approve_grants"'), "unknown permission",
                 id="unknown-permission"),
])
def test_semantic_errors_name_the_key_path(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    text = (REPO / "mesh.toml").read_text()
    assert edit[0] in text
    with pytest.raises(PolicyErrors) as caught:
        load_policy(write(tmp_path, text.replace(edit[0], edit[1], 1)))
    assert any(message in str(p) for p in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (REPO / "mesh.toml").read_text().replace('jurisdiction = "us"', 'jurisdiction = "xx"') \
        .replace("pool_slots = 4", "pool_slots = 0").replace('[mesh]\n', '[mesh]\ncolour = "blue"\n')
    with pytest.raises(PolicyErrors) as caught:
        load_policy(write(tmp_path, text))
    assert len(caught.value.problems) >= 4
    assert "problem(s) in mesh.toml" in str(caught.value)


def test_a_missing_mesh_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyErrors, match=r"the \[mesh\] table is missing"):
        load_policy(write(tmp_path, '[domains.a]\nowners = ["a@acme.example"]\n'))


_EXAMPLE = (REPO / "mesh.toml").read_bytes()
_RETENTION = b"default_days = 2555"


@pytest.mark.parametrize(("data", "key", "fix"), [
    pytest.param(_EXAMPLE.replace(b'name = "acme"', b'name = "ac\xffme"'), "mesh.toml:5:", "UTF-8",
                 id="invalid-utf8"),
    pytest.param(_EXAMPLE + b"\n[keys]\nprovider = " + b"[" * 2000 + b"]" * 2000 + b"\n", "mesh.toml", "nest",
                 id="arrays-nested-2000-deep"),
    pytest.param(_EXAMPLE.replace(_RETENTION, _RETENTION + b'\ndomains = { sales = "x" }'),
                 "[retention].domains.sales", "number of days", id="retention-not-an-integer"),
    pytest.param(_EXAMPLE.replace(_RETENTION, _RETENTION + b"\ndomains = { sales = 1.5 }"),
                 "[retention].domains.sales", "number of days", id="retention-a-float"),
    pytest.param(_EXAMPLE.replace(_RETENTION, _RETENTION + b"\ndomains = { sales = { days = 3 } }"),
                 "[retention].domains.sales", "number of days", id="retention-a-table"),
    pytest.param(_EXAMPLE.replace(_RETENTION, _RETENTION + b"\ndomains = { sales = -1 }"),
                 "[retention].domains.sales", "positive", id="retention-negative"),
    pytest.param(_EXAMPLE.replace(_RETENTION, _RETENTION + b"\ndomains = { sales = 9223372036854775807 }"),
                 "[retention].domains.sales", "at most 365000 days", id="retention-past-the-year-1"),
    pytest.param(_EXAMPLE.replace(_RETENTION, b"default_days = 1000000000"),
                 "[retention].default_days", "at most 365000 days", id="default-retention-past-the-year-1"),
    pytest.param(_EXAMPLE.replace(_RETENTION, _RETENTION + b"\ndomains = { sails = 30 }"),
                 "[retention].domains.sails", "sales", id="retention-of-an-undeclared-domain"),
    pytest.param(_EXAMPLE.replace(b'storage = ".mesh/regions/us-west"', b'storage = ".mesh/regions/us-east/"'),
                 "[regions.us-west].storage", "different folder", id="both-regions-on-one-folder"),
    pytest.param(_EXAMPLE.replace(b'storage = ".mesh/regions/us-west"', b'storage = ".mesh/regions/us\\u0000west"'),
                 "[regions.us-west].storage", "NUL", id="nul-in-region-storage"),
    pytest.param(_EXAMPLE.replace(b'file = ".mesh/lineage/events.jsonl"', b'file = ".mesh/lin\\u0000eage"'),
                 "[lineage].file", "NUL", id="nul-in-lineage-file"),
    pytest.param(_EXAMPLE.replace(b"[domains.marketing]", b"[domains." + b"m" * 300 + b"]"),
                 "[domains.mmmm", "at most 63 characters", id="domain-name-of-300-characters"),
])
def test_a_malformed_file_is_refused_with_key_path_and_fix(tmp_path: Path, data: bytes, key: str, fix: str) -> None:
    assert data != _EXAMPLE
    path = tmp_path / "mesh.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    problems = caught.value.problems if isinstance(caught.value, PolicyErrors) else [caught.value]
    assert any(key in str(p) and fix in (p.fix or "") for p in problems), problems
    report = check_mesh(tmp_path)
    assert not report.ok and any(key in p for p in report.problems), report.problems
