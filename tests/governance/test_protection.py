"""Protection at rest: tokens that join, encryption with wrapped per-version keys, plaintext only
for decrypt holders, and no plaintext PII in any stored byte."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import polars as pl
import pytest

from assets import AssetContext, Mesh, materialize, run_gate
from assets.errors import ConfigError
from assets.quarantine import Quarantine
from assets.step import _protector
from governance.access import read_asset
from governance.keys import KeyError_
from governance.protection import REDACTED, classified_columns, protect, tokenize
from governance.services import governed
from governance.wiring import load_mesh
from tests.conftest import TEST_SCALE, person


def plaintext_customers(mesh: Mesh) -> pl.DataFrame:
    fn = mesh.graph["customers.customers"].fn
    return fn(context=AssetContext(key="customers.customers", run_id="t", params={"scale": TEST_SCALE, "seed": 11}))


def test_tokens_are_deterministic_and_join_across_assets(materialized_example) -> None:  # type: ignore[no-untyped-def]
    mesh, _ = materialized_example
    store = mesh.store()
    customers = store.scan("customers.customers").select("customer_id", "email").collect()
    orders = store.scan("sales.customer_orders").select("customer_id", "email").collect()
    assert customers["email"].str.starts_with("tok:").all()
    joined = orders.join(customers, on="customer_id", suffix="_customers")
    assert joined.height == orders.height and (joined["email"] == joined["email_customers"]).all()
    assert store.require_current("customers.customers").protection == {"email": "tokenize:pii",
                                                                      "full_name": "encrypt:restricted"}


def test_each_reader_sees_what_their_permissions_allow(materialized_example) -> None:  # type: ignore[no-untyped-def]
    mesh, _ = materialized_example
    truth = plaintext_customers(mesh).sort("customer_id")
    privileged = read_asset(mesh, "customers.customers", actor=person("privacy@acme.example")).collect().sort("customer_id")
    assert privileged.select("email", "full_name").equals(truth.select("email", "full_name"))
    owner = read_asset(mesh, "customers.customers", actor=person("customers-data@acme.example")).collect()
    assert owner["email"].str.starts_with("tok:").all()
    assert (owner["full_name"] == REDACTED).all()


def test_encryption_uses_a_wrapped_key_per_version(example_mesh: Mesh) -> None:
    materialize("customers.customers", mesh=example_mesh, params={"scale": 100})
    materialize("customers.customers", mesh=example_mesh, params={"scale": 100})
    store = example_mesh.store()
    manifests = [store.manifest("customers.customers", v) for v in store.versions("customers.customers")]
    keys = [m.data_key for m in manifests]
    assert all(k and set(k) == {"kek_id", "nonce", "ciphertext"} for k in keys)
    assert keys[0]["ciphertext"] != keys[1]["ciphertext"]  # type: ignore[index]
    names = [store.scan("customers.customers", m.version).collect()["full_name"] for m in manifests]
    assert names[0].str.starts_with("enc:").all() and (names[0] != names[1]).all(), "random nonces per value"


def test_no_plaintext_pii_in_any_stored_byte(materialized_example) -> None:  # type: ignore[no-untyped-def]
    mesh, _ = materialized_example
    truth = plaintext_customers(mesh)
    secrets = set(truth["email"]) | set(truth["full_name"])
    definition = mesh.graph["customers.customers"]
    bad = truth.head(5).with_columns(pl.lit("not an e-mail").alias("email"))
    report = run_gate(definition.spec.contract, bad)
    assert not report.passed and all("not an e-mail" not in str(f) for f in report.failures)
    Quarantine(mesh.store().root).store(definition.key, "run-leak-check", report, bad,
                                        protect=_protector(mesh, definition))
    secrets.add("not an e-mail")
    checked = 0
    for path in mesh.root.joinpath(".mesh").rglob("*"):
        if not path.is_file():
            continue
        checked += 1
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            for column, dtype in frame.schema.items():
                if dtype == pl.String:
                    leaked = set(frame[column].drop_nulls()) & secrets
                    assert not leaked, f"{path} column {column} stores {sorted(leaked)[:2]}"
        else:
            data = path.read_bytes()
            leaked = [s for s in secrets if s.encode() in data]
            assert not leaked, f"{path} contains {leaked[:2]}"
    assert checked > 50


def test_a_missing_key_is_named_by_id_never_shown(example_mesh: Mesh) -> None:
    materialize("customers.customers", mesh=example_mesh, params={"scale": 50})
    manifest = example_mesh.store().require_current("customers.customers")
    kek_id = manifest.data_key["kek_id"]  # type: ignore[index]
    kek = example_mesh.state_dir / "keys" / f"kek-{kek_id}.key"
    secret = kek.read_bytes()
    kek.unlink()
    with pytest.raises(KeyError_) as caught:
        read_asset(example_mesh, "customers.customers", actor=person("privacy@acme.example")).collect()
    assert f"kek-{kek_id}.key" in str(caught.value) and "does not exist" in str(caught.value)
    assert secret.hex() not in str(caught.value)


def test_an_undeclared_classification_is_refused(example_mesh: Mesh) -> None:
    frame = pl.DataFrame({"ssn": ["123-45-6789"]})
    with pytest.raises(ConfigError, match=r"classified 'national_id'.*\[classification.national_id\]"):
        protect(frame, {"ssn": "national_id"}, example_mesh.policy, governed(example_mesh).keyring, key="x.y")


def test_classified_columns_come_from_contract_metadata(example_mesh: Mesh) -> None:
    contract = example_mesh.graph["customers.customers"].spec.contract
    assert classified_columns(contract) == {"email": "pii", "full_name": "restricted"}


def test_a_wrong_key_is_named_by_id(example_mesh: Mesh) -> None:
    import json

    materialize("customers.customers", mesh=example_mesh, params={"scale": 50})
    store = example_mesh.store()
    manifest = store.require_current("customers.customers")
    path = Path(store.root.path("customers", "customers", manifest.version, "manifest.json"))
    data = json.loads(path.read_text())
    wrapped = dict(data["data_key"])
    wrapped["ciphertext"] = wrapped["ciphertext"][:-8] + "AAAAAAA="
    path.write_text(json.dumps({**data, "data_key": wrapped}))
    with pytest.raises(KeyError_, match=f"does not unwrap with KEK {wrapped['kek_id']}"):
        read_asset(example_mesh, "customers.customers", actor=person("privacy@acme.example")).collect()


def test_only_genuine_tokens_pass_through_tokenization() -> None:
    from governance.protection.columns import detokenize

    key = bytes(range(64))
    genuine = tokenize(pl.Series(["ann@acme.example"]), key)[0]
    forged = "tok:" + base64.b64encode(b"x" * 40).decode()  # looks like a token, is not one
    for repeat in (1, 3):  # mostly distinct values, and repeated ones: the two paths of tokenize
        values = pl.Series("email", [genuine, forged, "tok:not base64!", "bob@acme.example", None] * repeat)
        out = tokenize(values, key)
        assert out[0] == genuine and out[4] is None
        assert all(out[i] != values[i] and out[i].startswith("tok:") for i in (1, 2, 3))
        assert detokenize(out, key).to_list()[:5] == [
            "ann@acme.example", forged, "tok:not base64!", "bob@acme.example", None]
    already = tokenize(pl.Series("email", ["a@x.example", "b@x.example", None]), key)
    assert tokenize(already, key).to_list() == already.to_list()  # all genuine: kept as they are


def test_a_deleted_tokenization_key_is_an_error_never_silently_replaced(example_mesh: Mesh) -> None:
    assert materialize("customers.customers", mesh=example_mesh, params={"scale": 50}).ok
    data = example_mesh.state_dir / "keys" / "data"
    key_file = data / "tokenize-pii.json"
    key_file.unlink()
    again = materialize("customers.customers", mesh=example_mesh, params={"scale": 50})
    assert not again.ok
    error = again["customers.customers"].error or ""
    assert "tokenize-pii.json" in error and "mesh dr restore" in error
    assert not key_file.exists(), "no new key replaces the lost one"
    with pytest.raises(KeyError_, match="tokenize-pii.json"):
        read_asset(example_mesh, "customers.customers", actor=person("privacy@acme.example")).collect()
    for leftover in data.iterdir():  # even with every trace of the key gone, the manifests say it was used
        leftover.unlink()
    with pytest.raises(KeyError_, match="data was tokenized with classification 'pii'"):
        governed(example_mesh).keyring.tokenization_key("pii")
    assert not key_file.exists()


def test_a_tokenization_key_that_is_not_the_one_data_was_tokenized_with_is_refused(example_mesh: Mesh) -> None:
    keyring = governed(example_mesh).keyring
    keyring.tokenization_key("pii")
    key_file = keyring.folder / "tokenize-pii.json"
    other = keyring.provider.wrap(bytes(64), b"tokenize:pii")
    key_file.write_text(json.dumps(other.to_dict()))
    with pytest.raises(KeyError_, match="not the key data was tokenized with"):
        keyring.tokenization_key("pii")


@pytest.mark.parametrize(("pointer", "refusal"), [
    ("../../../etc/passwd", "kek.active does not hold a KEK id"),
    (None, r"kek.active is missing, yet 1 KEK\(s\) exist"),
])
def test_a_damaged_kek_pointer_is_refused_not_followed_or_replaced(example_mesh: Mesh, pointer: str | None,
                                                                   refusal: str) -> None:
    keyring = governed(example_mesh).keyring
    keyring.provider.active_kek_id()  # the mesh's first KEK
    active = example_mesh.state_dir / "keys" / "kek.active"
    if pointer is None:
        active.unlink()
    else:
        active.write_text(pointer)
    with pytest.raises(KeyError_, match=refusal) as caught:
        keyring.provider.active_kek_id()
    assert "mesh dr restore" in caught.value.fix
    assert len(keyring.provider.kek_ids()) == 1, "no KEK was made to take its place"


def test_a_version_stored_before_its_columns_were_classified_is_read_as_they_are_classified_today(
        example_root: Path) -> None:
    """Taking the classification off a contract stores the next version in plaintext; once it is
    back, time travel to that version shows no reader more than a read of today's version."""
    contracts = example_root / "domains/customers/contracts.py"
    classified = contracts.read_text()
    contracts.write_text(classified.replace(', metadata={"classification": "pii"}', ""))
    mesh = load_mesh(example_root)
    assert materialize("customers.customers", mesh=mesh, params={"scale": 100}).ok
    plain = mesh.store().current_version("customers.customers")
    assert mesh.store().require_current("customers.customers").protection == {"full_name": "encrypt:restricted"}
    contracts.write_text(classified)
    mesh = load_mesh(example_root)
    assert materialize("customers.customers", mesh=mesh, params={"scale": 100}).ok
    owner = read_asset(mesh, "customers.customers", actor=person("customers-data@acme.example"), version=plain).collect()
    assert (owner["email"] == REDACTED).all() and (owner["full_name"] == REDACTED).all()
    privileged = read_asset(mesh, "customers.customers", actor=person("privacy@acme.example"), version=plain).collect()
    assert privileged["email"].str.contains("@").all()
