"""Key rotation: a new KEK, every data key rewrapped, data untouched, safe to interrupt."""

from __future__ import annotations

import pytest

from assets import Mesh, materialize
from governance.access import read_asset
from governance.keys import KeyError_
from governance.protection.rotation import kek_usage, retire_kek, rotate_keys
from governance.services import governed
from tests.conftest import person


@pytest.fixture
def protected_mesh(example_mesh: Mesh) -> Mesh:
    for _ in range(2):
        assert materialize("customers.customers", mesh=example_mesh, params={"scale": 100}).ok
    return example_mesh


def plaintext(mesh: Mesh) -> list[tuple[str, str]]:
    store = mesh.store()
    rows = []
    for version in store.versions("customers.customers"):
        frame = read_asset(mesh, "customers.customers", actor=person("privacy@acme.example"), version=version).collect()
        rows += list(zip(frame["email"], frame["full_name"], strict=True))
    return rows


def test_rotation_rewraps_every_key_and_keeps_old_versions_readable(protected_mesh: Mesh) -> None:
    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    before_text = plaintext(mesh)
    store = mesh.store()
    checksums = [store.manifest("customers.customers", v).checksum for v in store.versions("customers.customers")]
    old = keyring.provider.active_kek_id()
    report = rotate_keys(mesh, keyring, governed(mesh).audit, actor=person("platform@acme.example"))
    assert report.kek_id != old and report.rewrapped == 5 and not report.resumed  # 2 versions x 2 regions + 1 token key
    assert kek_usage(mesh, keyring) == {report.kek_id: 5}
    assert plaintext(mesh) == before_text
    assert [store.manifest("customers.customers", v).checksum for v in store.versions("customers.customers")] == checksums
    for version in store.versions("customers.customers"):
        assert store.verify(store.manifest("customers.customers", version)), "data must not be rewritten"
    retire_kek(mesh, keyring, governed(mesh).audit, old, actor=person("platform@acme.example"))
    assert plaintext(mesh) == before_text
    actions = [(r.action, r.outcome) for r in governed(mesh).audit.query(actor="service:keys")]
    assert actions == [("key_rotate", "started"), ("key_rotate", "completed"), ("key_retire", "retired")]


def test_an_interrupted_rotation_is_finished_by_running_it_again(protected_mesh: Mesh) -> None:
    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    before_text = plaintext(mesh)
    audit = governed(mesh).audit

    def crash(_label: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"), on_item=crash)
    assert len(kek_usage(mesh, keyring)) == 2, "half rotated"
    assert plaintext(mesh) == before_text, "readable in the middle of a rotation"
    report = rotate_keys(mesh, keyring, audit, actor=person("platform@acme.example"))
    assert report.resumed and report.rewrapped == 4 and report.already == 1
    assert kek_usage(mesh, keyring) == {report.kek_id: 5}
    assert plaintext(mesh) == before_text


def test_a_kek_in_use_or_active_cannot_be_retired(protected_mesh: Mesh) -> None:
    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    active = keyring.provider.active_kek_id()
    with pytest.raises(KeyError_, match=f"KEK {active} still wraps 5 data key"):
        retire_kek(mesh, keyring, governed(mesh).audit, active, actor=person("platform@acme.example"))
    with pytest.raises(KeyError_, match="is the active key"):
        keyring.provider.retire(active)


def test_retiring_an_unknown_kek_is_an_error_naming_the_known_ones(protected_mesh: Mesh) -> None:
    from typer.testing import CliRunner

    from meshctl.cli import app

    mesh, keyring = protected_mesh, governed(protected_mesh).keyring
    active = keyring.provider.active_kek_id()
    with pytest.raises(KeyError_, match=f"no KEK 'no-such-key'.*known: {active}"):
        retire_kek(mesh, keyring, governed(mesh).audit, "no-such-key", actor=person("platform@acme.example"))
    typo = active[:-1]
    done = CliRunner().invoke(app, ["keys", "retire", typo, "--as", "platform@acme.example", "--root", str(mesh.root)])
    assert done.exit_code != 0 and "retired" not in done.stdout
    assert f"did you mean {active}" in " ".join((done.stdout + done.stderr).split())
    assert not [r for r in governed(mesh).audit.query(action="key_retire") if r.outcome == "retired"]
