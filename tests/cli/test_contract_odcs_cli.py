"""``mesh contract export --format odcs`` and ``mesh contract import``: files, exit codes, one-line
errors without tracebacks."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from meshctl.cli import app

runner = CliRunner()


def mesh(root: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--root", str(root)])
    return result.exit_code, result.stdout, result.stderr


def test_export_prints_or_writes_a_validated_document(example_root: Path, tmp_path: Path) -> None:
    code, out, _ = mesh(example_root, "contract", "export", "finance.fx_rates", "--format", "odcs")
    assert code == 0
    document = yaml.safe_load(out)
    assert (document["kind"], document["id"], document["version"]) == ("DataContract", "acme.finance.fx_rates",
                                                                         "1.0.0")
    assert [s["server"] for s in document["servers"]] == ["us-east", "us-west"]
    target = tmp_path / "out" / "fx.yaml"
    code, out, _ = mesh(example_root, "contract", "export", "finance.fx_rates", "--out", str(target))
    assert code == 0 and "wrote" in out and yaml.safe_load(target.read_text()) == document


def test_export_refuses_an_unknown_asset_format_or_version(example_root: Path) -> None:
    code, _, err = mesh(example_root, "contract", "export", "finance.fx_rate")
    assert code == 1 and "Did you mean 'finance.fx_rates'" in err and "Traceback" not in err
    code, _, err = mesh(example_root, "contract", "export", "finance.fx_rates", "--format", "dcs")
    assert code == 2 and "odcs" in err
    code, _, err = mesh(example_root, "contract", "export", "finance.fx_rates", "--version", "v1")
    assert code == 1 and "has no version 'v1'" in err and "materialize it" in err


def test_import_writes_a_contract_module_into_the_domain(example_root: Path, tmp_path: Path) -> None:
    document = tmp_path / "rates.yaml"
    assert mesh(example_root, "contract", "export", "finance.fx_rates", "--out", str(document))[0] == 0
    code, out, err = mesh(example_root, "contract", "import", str(document))
    module = example_root / "domains" / "finance" / "contracts_fx_rates.py"
    assert code == 0, err
    assert str(module) in out.replace("\n", "") and "class FxRates" in out
    source = module.read_text()
    assert "class FxRates(pa.DataFrameModel):" in source
    assert "unique = ['rate_date', 'currency']" in source
    assert "rate_to_usd: float = pa.Field(ge=0.001, le=10.0)" in source
    code, _, err = mesh(example_root, "contract", "import", str(document))
    assert code == 1 and "exists" in err and "--force" in err
    assert mesh(example_root, "contract", "import", str(document), "--force")[0] == 0
    assert mesh(example_root, "check", "--json")[0] == 0  # the domain still loads with the new module in it


def test_import_reports_unsupported_rules_by_name(example_root: Path, tmp_path: Path) -> None:
    document = tmp_path / "things.yaml"
    document.write_text(yaml.safe_dump({
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "things", "version": "2.0.0", "domain": "sales",
        "schema": [{"name": "things", "properties": [
            {"name": "id", "logicalType": "integer", "required": True,
             "quality": [{"type": "library", "name": "enough_rows", "metric": "rowCount", "mustBeGreaterThan": 10}]}]}]}))
    out_file = tmp_path / "contracts_things.py"
    code, _, err = mesh(example_root, "contract", "import", str(document), "--out", str(out_file))
    assert code == 1 and "rule 'enough_rows' is not supported" in err and "--allow-unsupported" in err
    assert not out_file.exists()
    code, _, err = mesh(example_root, "contract", "import", str(document), "--out", str(out_file),
                        "--allow-unsupported")
    assert code == 0 and "enough_rows" in err
    assert "# - " in out_file.read_text() and "enough_rows" in out_file.read_text()


def test_import_into_a_domain_without_a_folder_is_refused(example_root: Path, tmp_path: Path) -> None:
    document = tmp_path / "things.yaml"
    document.write_text(yaml.safe_dump({
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "things", "version": "1.0.0", "domain": "logistics",
        "schema": [{"name": "things", "properties": [{"name": "id", "logicalType": "integer"}]}]}))
    code, _, err = mesh(example_root, "contract", "import", str(document))
    assert code == 1 and "domain 'logistics' has no folder" in err and "mesh domain create logistics" in err
    assert not (example_root / "domains" / "logistics").exists()


def test_import_of_a_bad_file_is_one_line_naming_the_file(example_root: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("kind: DataContract\nschema: [\n")
    code, out, err = mesh(example_root, "contract", "import", str(bad))
    assert code == 1 and str(bad) in err and "not YAML" in err and "Fix:" in err and "Traceback" not in err + out
    code, _, err = mesh(example_root, "contract", "import", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read the file" in err


def _with_rule_named(name: str) -> str:
    """An ODCS document whose one property has a rule (unsupported by a pandera Field) named ``name``."""
    return yaml.safe_dump({
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "things", "version": "2.0.0", "domain": "sales",
        "schema": [{"name": "things", "properties": [
            {"name": "id", "logicalType": "integer", "required": True,
             "quality": [{"type": "library", "name": name, "metric": "rowCount", "mustBeGreaterThan": 10}]}]}]})


def test_import_shows_a_hostile_rule_name_without_terminal_escapes_or_a_forged_line(example_root: Path,
                                                                                   tmp_path: Path) -> None:
    """A rule named with ESC sequences and a newline: the "unsupported:" line shows them as escapes,
    so the terminal neither turns red nor shows a line the mesh did not print."""
    document = tmp_path / "things.yaml"
    name = "\x1b[31mRED\x1b[0m\nerror: fake line"
    document.write_text(_with_rule_named(name))
    code, _, err = mesh(example_root, "contract", "import", str(document), "--out", str(tmp_path / "c.py"))
    assert code == 1 and "Traceback" not in err
    assert "\x1b" not in err and "\\x1b[31mRED\\x1b[0m\\nerror: fake line" in err.replace("\n", ""), err
    assert not any(line.startswith("error: fake line") for line in err.splitlines()), err


def test_a_rule_name_cannot_add_code_to_the_written_module(example_root: Path, tmp_path: Path) -> None:
    """With --allow-unsupported the rules are listed as comments of the module: a newline in a
    rule's name was a line of code, run when the domain loads; a file name with quotes closed the
    docstring the same way."""
    document = tmp_path / 'x"""\nraise SystemExit(9)\n""".yaml'
    name = "r\nraise SystemExit(7)"
    document.write_text(_with_rule_named(name))
    out_file = tmp_path / "contracts_things.py"
    code, _, err = mesh(example_root, "contract", "import", str(document), "--out", str(out_file),
                        "--allow-unsupported")
    assert code == 0, err
    source = out_file.read_text()
    assert "\nraise SystemExit" not in source and "r\\nraise SystemExit(7)" in source, source
    compile(source, str(out_file), "exec")  # it is still a module
