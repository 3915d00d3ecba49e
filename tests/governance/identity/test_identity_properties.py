"""Whatever a user types or pastes (``--as``, a token, a public key entry, a signature), the
identity layer answers with a MeshError (IdentityError or ConfigError), never anything else."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.errors import MeshError
from governance.identity import (
    IdentityError,
    LocalIdentity,
    OidcIdentity,
    create_identity,
    normalize_email,
    verify_approval,
)
from governance.policy import Grant, Person

ALICE = "alice@acme.example"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

texts = st.text(max_size=80)
latin = st.binary(max_size=120).map(lambda b: b.decode("latin-1"))
jwt_like = st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPabcdefgh0123456789-_=", max_size=30), min_size=3,
                    max_size=3).map(".".join)
key_like = st.binary(min_size=0, max_size=70).map(lambda b: "ed25519:" + __import__("base64").b64encode(b).decode())


@pytest.fixture(scope="module")
def held() -> tuple[Path, str]:
    folder = Path(tempfile.mkdtemp(prefix="mesh-properties-"))
    return folder, create_identity(ALICE, folder)


@FAST
@given(claimed=st.one_of(st.none(), texts, latin))
def test_any_as_is_an_actor_or_an_identity_error(held: tuple[Path, str], claimed: str | None) -> None:
    folder, public = held
    try:
        actor = LocalIdentity(people={ALICE: public}, folder=folder).authenticate(claimed)
    except IdentityError:
        return
    assert claimed is not None and actor.id == ALICE == normalize_email(claimed)


@FAST
@given(entry=st.one_of(texts, latin, key_like), claimed=st.sampled_from([ALICE, "Alice@ACME.example"]))
def test_any_public_key_entry_is_refused_with_a_mesh_error(held: tuple[Path, str], entry: str, claimed: str) -> None:
    folder, public = held
    try:
        Person(email=ALICE, public_key=entry)
    except MeshError:
        pass
    with pytest.raises(IdentityError, match=ALICE.replace(".", r"\.")):
        LocalIdentity(people={ALICE: entry}, folder=folder).authenticate(claimed)


@FAST
@given(token=st.one_of(texts, latin, jwt_like))
def test_any_token_is_refused_with_an_identity_error(token: str) -> None:
    provider = OidcIdentity(issuer="http://127.0.0.1:9", audience="acme-mesh", token=token, timeout_seconds=0.5)
    with pytest.raises(IdentityError) as caught:
        provider.authenticate(None)
    assert len(token) < 8 or token not in str(caught.value)


@FAST
@given(public_key=st.one_of(texts, key_like), signature=st.one_of(texts, latin, key_like))
def test_verifying_anything_is_a_plain_no(public_key: str, signature: str) -> None:
    grant = Grant(product="sales.orders", consumer="finance", purpose="p", expires=dt.date(2030, 1, 1),
                  nonce="0" * 32)
    assert verify_approval(public_key, "acme", grant, signature) is False


@FAST
@given(email=st.one_of(texts, latin))
def test_create_identity_of_anything_creates_or_refuses(email: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        try:
            public = create_identity(email, Path(folder) / "ids")
        except IdentityError:
            return
        assert LocalIdentity(people={normalize_email(email): public}, folder=Path(folder) / "ids").authenticate(
            email).id == normalize_email(email)


@pytest.fixture(scope="module")
def enrolled_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import copy_example_mesh

    return copy_example_mesh(tmp_path_factory.mktemp("properties"))


toml_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(name=toml_texts, public_key=st.one_of(toml_texts, key_like), signature=st.one_of(toml_texts, key_like))
def test_any_people_or_signature_entry_in_mesh_toml_loads_or_is_a_config_error(
        enrolled_copy: Path, name: str, public_key: str, signature: str) -> None:
    import tomlkit

    from assets.errors import ConfigError
    from governance.access import missing_approvals
    from governance.policy import load_policy

    doc = tomlkit.parse((enrolled_copy / "mesh.toml").read_text())
    doc["people"][name] = {"public_key": public_key}
    doc["grants"][0]["signatures"]["council@acme.example"] = signature
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "mesh.toml").write_text(tomlkit.dumps(doc))
        try:
            policy = load_policy(Path(folder))
        except ConfigError:
            return
        assert "council@acme.example" in " ".join(missing_approvals(policy, policy.grants[0])) or \
            policy.grants[0].signatures["council@acme.example"] == signature
