"""The compiled mesh's file: written and read back, refused when malformed, and its fingerprint
judged against the files with one stat each."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from assets.compiled import (
    COMPILED_PATH,
    CompiledAsset,
    CompiledDomain,
    CompiledInput,
    CompiledMesh,
    CompiledMeshError,
    Fingerprint,
    RecordedError,
    read_compiled,
)
from assets.errors import ConfigError, DomainImportError

TODAY = dt.date(2026, 11, 1)


def _sources(root: Path) -> list[str]:
    (root / "domains" / "alpha").mkdir(parents=True)
    (root / "mesh.toml").write_text('[mesh]\nname = "m"\n')
    (root / "domains" / "alpha" / "assets.py").write_text("X = 1\n")
    return ["mesh.toml", "domains/alpha/assets.py"]


def _compiled(root: Path, files: list[str]) -> CompiledMesh:
    fingerprint = Fingerprint.of(root, files, version="1.0")
    numbers = CompiledAsset(domain="alpha", name="numbers", schedule="@daily", owners=("a@acme.example",),
                            tags={"tier": "gold"}, pool="mesh_alpha", doc_md="## alpha.numbers")
    doubled = CompiledAsset(domain="alpha", name="doubled", pool="mesh_alpha", freshness_seconds=3600.0,
                            inputs=(CompiledInput(param="numbers", key="alpha.numbers", access="same domain 'alpha'"),))
    broken = RecordedError.of(DomainImportError("domain 'beta' failed to import", where="beta/assets.py:3",
                                                fix="fix it"))
    return CompiledMesh(name="m", fingerprint=fingerprint, handlers=("policy", "history"),
                        domains={"alpha": CompiledDomain(name="alpha", owners=("a@acme.example",), pool="mesh_alpha"),
                                 "beta": CompiledDomain(name="beta", pool="mesh_beta", error=broken)},
                        assets={a.key: a for a in (numbers, doubled)})


def test_written_and_read_back_unchanged(tmp_path: Path) -> None:
    compiled = _compiled(tmp_path, _sources(tmp_path))
    path = tmp_path / COMPILED_PATH
    path.parent.mkdir(parents=True)
    path.write_bytes(compiled.to_json())
    again = read_compiled(tmp_path)
    assert again == compiled
    assert [a.key for a in again.assets_of("alpha")] == ["alpha.numbers", "alpha.doubled"]
    assert again.assets["alpha.doubled"].inputs[0].team == "alpha" and not again.assets["alpha.doubled"].is_root


def test_a_domain_with_a_recorded_error_raises_it_and_the_others_do_not(tmp_path: Path) -> None:
    compiled = _compiled(tmp_path, _sources(tmp_path))
    with pytest.raises(CompiledMeshError) as raised:
        compiled.assets_of("beta")
    assert str(raised.value) == "beta/assets.py:3: DomainImportError: domain 'beta' failed to import. Fix: fix it"
    assert compiled.assets_of("gamma") == []


@pytest.mark.parametrize("data", [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b"[]", id="not-an-object"),
    pytest.param(json.dumps({"format": 999}).encode(), id="another-format"),
    pytest.param(None, id="asset-of-no-domain"),
])
def test_a_malformed_file_is_refused_with_the_fix(tmp_path: Path, data: bytes | None) -> None:
    if data is None:
        raw = json.loads(_compiled(tmp_path, _sources(tmp_path)).to_json())
        raw["domains"] = []
        data = json.dumps(raw).encode()
    path = tmp_path / COMPILED_PATH
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    with pytest.raises(CompiledMeshError, match="the compiled mesh is unreadable") as raised:
        read_compiled(tmp_path)
    assert raised.value.fix == "run `mesh compile` to write it again" and raised.value.where == str(path)


def test_an_invalid_description_cannot_be_made() -> None:
    with pytest.raises(ConfigError, match="trigger 'some'"):
        CompiledAsset(domain="alpha", name="x", trigger="some")
    with pytest.raises(ConfigError, match="not an asset key"):
        CompiledInput(param="x", key="nodot", access="")


def test_the_fingerprint_is_current_until_a_source_changes(tmp_path: Path) -> None:
    files = _sources(tmp_path)
    fingerprint = Fingerprint.of(tmp_path, files, version="1.0")
    assert fingerprint.stale_reason(tmp_path, files, version="1.0", today=TODAY) is None
    code = tmp_path / "domains" / "alpha" / "assets.py"
    stat = code.stat()
    os.utime(code, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched, same bytes
    assert fingerprint.stale_reason(tmp_path, files, version="1.0", today=TODAY) is None
    code.write_text("X = 2\n")  # same size, other bytes
    assert fingerprint.stale_reason(tmp_path, files, version="1.0", today=TODAY) == "domains/alpha/assets.py changed"
    code.write_text("X = 1\n")
    assert fingerprint.stale_reason(tmp_path, files, version="1.0", today=TODAY) is None


@pytest.mark.parametrize("change, reason", [
    pytest.param(lambda root, files: (files + ["domains/alpha/more.py"], "1.0", TODAY),
                 "added domains/alpha/more.py", id="file-added"),
    pytest.param(lambda root, files: (files[:1], "1.0", TODAY), "removed domains/alpha/assets.py", id="file-removed"),
    pytest.param(lambda root, files: (files, "1.1", TODAY), "the package version changed (1.0 -> 1.1)", id="version"),
    pytest.param(lambda root, files: (files, "1.0", dt.date(2027, 7, 1)), "a grant it relied on expired on 2027-06-30",
                 id="grant-expired"),
])
def test_what_makes_the_fingerprint_stale(tmp_path: Path, change, reason: str) -> None:  # type: ignore[no-untyped-def]
    files = _sources(tmp_path)
    (tmp_path / "domains" / "alpha" / "more.py").write_text("")
    fingerprint = Fingerprint.of(tmp_path, files, version="1.0")
    fingerprint = Fingerprint(files=fingerprint.files, version="1.0", valid_until=dt.date(2027, 6, 30))
    now, version, today = change(tmp_path, files)
    assert fingerprint.stale_reason(tmp_path, now, version=version, today=today) == reason
    assert fingerprint.stale_reason(tmp_path, files, version="1.0", today=dt.date(2027, 6, 30)) is None
