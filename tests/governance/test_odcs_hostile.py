"""`mesh contract import` on documents written to attack it: a document can name things, never
add code to the module it becomes, nor make the import expand it to gigabytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from assets.errors import MeshError
from governance.contracts import OdcsImportError, import_odcs
from governance.contracts.generated_code import GeneratedCodeError, declarations_only
from governance.contracts.odcs_import import MAX_DOCUMENT_BYTES
from meshctl.cli import app


def _payload(sentinel: Path) -> str:
    """Python that, if it ever ran, would create ``sentinel``."""
    return f'open({str(sentinel)!r}, "w").write("code ran")'


def _document(sentinel: Path, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "x", "version": "1.0.0", "domain": "sales",
        "schema": [{"name": "things", "properties": [{"name": "id", "logicalType": "integer", "required": True}]}]}
    return base | changes


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _escapes(sentinel: Path) -> list[str]:
    """Texts that close a docstring, a string or a comment and then run the payload."""
    code = _payload(sentinel)
    return [f'1.0.0"""; {code}; """', f'"""\n{code}\n"""', f"x\n{code}\n#", f"x'); {code}; ('", f"\\\n{code}",
            f"x\r{code}\r#", f"x\u2028{code}", f'"; {code}; "', f"{{{code}}}"]


def _hostile_documents(sentinel: Path) -> list[tuple[str, dict[str, Any]]]:
    documents = []
    for n, text in enumerate(_escapes(sentinel)):
        things = {"name": "things", "description": text, "businessName": text,
                  "quality": [{"type": "custom", "name": text, "engine": "soda", "implementation": text}],
                  "properties": [{"name": "id", "logicalType": "integer", "required": True, "description": text,
                                  "businessName": text},
                                 {"name": text, "logicalType": "string", "classification": text,
                                  "quality": [{"type": "custom", "name": text, "engine": "x", "implementation": text}]}]}
        documents.append((f"everywhere-{n}", _document(sentinel, schema=[things], team={"members": [
            {"username": text, "role": "owner"}]})))
    return documents


def test_texts_that_would_close_a_string_or_comment_never_run(tmp_path: Path) -> None:
    """Owners, descriptions, names and unsupported rules that try to leave their literal are
    written escaped: the module loads, declares the contract, and the payload never ran."""
    sentinel = tmp_path / "PWNED"
    for name, document in _hostile_documents(sentinel):
        path = _write(tmp_path / f"{name}.yaml", document)
        try:
            imported = import_odcs(path)
        except MeshError as exc:
            assert str(path) in str(exc) and "Fix:" in str(exc)
        else:
            declarations_only(imported.source(), where=str(path))  # the second wall passes it too
            imported.load()
        assert not sentinel.exists(), name


def test_a_version_that_is_not_semver_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    sentinel = tmp_path / "PWNED"
    path = _write(tmp_path / "evil.yaml", _document(sentinel, version=f'1.0.0"""; {_payload(sentinel)}; """'))
    out = CliRunner().invoke(app, ["contract", "import", str(path), "--out", str(tmp_path / "x.py")])
    assert out.exit_code == 1 and "Traceback" not in out.output, out.output
    assert "is not a semantic version" in out.output and "Fix:" in out.output
    assert not sentinel.exists() and not (tmp_path / "x.py").exists()


def test_a_file_named_to_escape_its_docstring_is_written_escaped(tmp_path: Path) -> None:
    sentinel = tmp_path / "PWNED"
    folder = tmp_path / 'a"""b'
    folder.mkdir()
    path = _write(folder / f'x""" + {_payload(sentinel).replace("/", "_")} + """.yaml', _document(sentinel))
    imported = import_odcs(path)
    imported.load()
    assert not sentinel.exists()


@pytest.mark.parametrize("source", [
    pytest.param('import os\nos.system("true")\n', id="another-import"),
    pytest.param('import datetime as dt\n\n\nclass A:\n    x = open("f")\n', id="a-call-to-open"),
    pytest.param('import pandera.polars as pa\n\n\nclass A(pa.DataFrameModel):\n    x: int = pa.Field(ge=__import__("os"))\n',
                 id="a-dunder-call"),
    pytest.param('import polars as pl\n\n\nclass A:\n    x = pl.__class__\n', id="a-private-attribute"),
    pytest.param('def f():\n    pass\n', id="a-function"),
    pytest.param('x = [i for i in "ab"]\n', id="a-comprehension"),
    pytest.param('x = f"{1}"\n', id="an-f-string"),
    pytest.param('x = (lambda: 1)\n', id="a-lambda"),
])
def test_the_second_wall_refuses_a_module_that_does_more_than_declare(source: str) -> None:
    with pytest.raises(GeneratedCodeError, match="not only declarations.*nothing was run") as caught:
        declarations_only(source, where="doc.yaml")
    assert "doc.yaml" in str(caught.value) and "Fix:" in str(caught.value)


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    """Nine levels of nine aliases each: about 387 million values if expanded."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\ncustomProperties:\n"
                    + "".join(f"  - property: p{i}\n    value:\n      {line}\n" for i, line in enumerate(levels)))
    with pytest.raises(OdcsImportError, match="an alias.*Fix: write the aliased value out in full"):
        import_odcs(path)


def test_a_file_past_the_bound_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:  # sparse: no disk is used
        fh.truncate(MAX_DOCUMENT_BYTES + 1)
    with pytest.raises(OdcsImportError, match="larger than 16 MB.*Fix:"):
        import_odcs(path)


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(_TEXT, st.sampled_from(['"""', "'''", "\\", "\n", "\r", "\x00", "#", "\u2028", "\x0c"])),
       where=st.sampled_from(["owner", "description", "rule", "property", "businessName", "classification"]))
def test_any_text_anywhere_imports_as_declarations_or_fails_as_a_mesh_error(tmp_path: Path, text: str,
                                                                             where: str) -> None:
    sentinel = tmp_path / "PWNED"
    prop: dict[str, Any] = {"name": "id", "logicalType": "integer", "required": True}
    things: dict[str, Any] = {"name": "things", "properties": [prop]}
    document = _document(sentinel, schema=[things])
    if where == "owner":
        document["team"] = {"members": [{"username": text, "role": "owner"}]}
    elif where == "description":
        things["description"] = text
    elif where == "rule":
        things["quality"] = [{"type": "custom", "name": text, "engine": "soda", "implementation": text}]
    elif where == "property":
        things["properties"].append({"name": text, "logicalType": "string"})
    else:
        prop[where] = text
    path = _write(tmp_path / "doc.yaml", document)
    try:
        imported = import_odcs(path)
    except MeshError as exc:
        assert str(path) in str(exc) and "Fix:" in str(exc)
    else:
        declarations_only(imported.source(), where=str(path))
    assert not sentinel.exists()
