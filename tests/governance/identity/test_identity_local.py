"""The local identity provider: per-person Ed25519 keys, held owner-only, proved against the key
registered in mesh.toml [people]."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from governance.identity import (
    Actor,
    IdentityError,
    LocalIdentity,
    create_identity,
    identity_folder,
)
from governance.identity.keys import fingerprint

ALICE = "alice@acme.example"
BOB = "bob@acme.example"


@pytest.fixture
def mine(tmp_path: Path) -> Path:
    return tmp_path / "mine"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    return tmp_path / "elsewhere"


def test_create_writes_the_private_key_owner_only_and_returns_the_public_key(mine: Path) -> None:
    public = create_identity("  Alice@ACME.example ", mine)
    assert public.startswith("ed25519:") and len(public) == len("ed25519:") + 44
    files = list(mine.iterdir())
    assert [f.name for f in files] == [f"{ALICE}.ed25519"], "one file, named by the normalised address"
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(mine.stat().st_mode) == 0o700
    assert b"PRIVATE KEY" in files[0].read_bytes() and public.encode() not in files[0].read_bytes()


def test_create_refuses_to_overwrite_a_held_key(mine: Path) -> None:
    public = create_identity(ALICE, mine)
    before = (mine / f"{ALICE}.ed25519").read_bytes()
    with pytest.raises(IdentityError) as caught:
        create_identity("ALICE@acme.example", mine)
    assert ALICE in str(caught.value) and "already held" in str(caught.value)
    assert public in caught.value.fix and "move the file away" in caught.value.fix
    assert (mine / f"{ALICE}.ed25519").read_bytes() == before


@pytest.mark.parametrize("text", ["alice", "../../tmp/x@acme.example"])
def test_create_refuses_what_is_not_an_address(mine: Path, text: str) -> None:
    with pytest.raises(IdentityError, match="not an e-mail address"):
        create_identity(text, mine)
    assert not mine.exists()


def test_a_long_address_gets_a_key_file_whose_name_fits(mine: Path) -> None:
    long = "\u0436" * 60 + "@" + "a" * 60 + ".example"  # escaped, its name would pass 255 bytes
    public = create_identity(long, mine)
    [held] = list(mine.iterdir())
    assert held.name.startswith("sha256-") and len(held.name) < 100
    actor = LocalIdentity(people={long: public}, folder=mine).authenticate(long)
    assert actor.id == long


def test_authenticate_proves_the_held_registered_key(mine: Path) -> None:
    public = create_identity(ALICE, mine)
    actor = LocalIdentity(people={ALICE: public}, folder=mine).authenticate("Alice@Acme.Example")
    assert actor == Actor(id=ALICE, method="ed25519", evidence=f"key {fingerprint(public)}")


def test_naming_someone_whose_key_is_not_held_is_refused(mine: Path, elsewhere: Path) -> None:
    create_identity(ALICE, mine)
    bobs = create_identity(BOB, elsewhere)  # Bob's key lives on Bob's machine
    provider = LocalIdentity(people={ALICE: create_identity("carol@acme.example", mine), BOB: bobs}, folder=mine)
    with pytest.raises(IdentityError) as caught:
        provider.authenticate(BOB)
    text = str(caught.value)
    assert f"holds no key of '{BOB}'" in text and str(mine) in text
    assert "--as YOUR-EMAIL" in caught.value.fix and "MESH_IDENTITY" in caught.value.fix
    with pytest.raises(IdentityError, match="holds no key"):
        provider.sign(BOB, b"anything")


def test_a_held_key_that_is_not_the_registered_one_is_refused(mine: Path, elsewhere: Path) -> None:
    held = create_identity(ALICE, mine)
    registered = create_identity(ALICE, elsewhere)
    with pytest.raises(IdentityError) as caught:
        LocalIdentity(people={ALICE: registered}, folder=mine).authenticate(ALICE)
    assert f"the key held for '{ALICE}'" in str(caught.value)
    assert fingerprint(held) in str(caught.value) and fingerprint(registered) in str(caught.value)
    assert held in caught.value.fix, "the fix offers the held public key for registration"


def test_an_unregistered_person_is_refused_with_the_enrolment_fix(mine: Path) -> None:
    create_identity(ALICE, mine)
    with pytest.raises(IdentityError) as caught:
        LocalIdentity(people={}, folder=mine).authenticate(ALICE)
    assert f"'{ALICE}' is not registered in mesh.toml [people]" in str(caught.value)
    assert f"mesh identity create {ALICE}" in caught.value.fix and f'[people."{ALICE}"]' in caught.value.fix


@pytest.mark.parametrize("claimed", [None, "", "   "])
def test_acting_without_naming_anyone_is_refused(mine: Path, claimed: str | None) -> None:
    with pytest.raises(IdentityError, match="nobody was named") as caught:
        LocalIdentity(people={}, folder=mine).authenticate(claimed)
    assert "--as" in caught.value.fix and "MESH_USER" in caught.value.fix


def test_a_key_file_others_can_read_is_refused(mine: Path) -> None:
    public = create_identity(ALICE, mine)
    (mine / f"{ALICE}.ed25519").chmod(0o644)
    with pytest.raises(IdentityError, match="readable by group or others"):
        LocalIdentity(people={ALICE: public}, folder=mine).authenticate(ALICE)


def test_the_identity_folder_is_mesh_identity_else_the_user_config_folder(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MESH_IDENTITY", str(tmp_path / "ids"))
    assert identity_folder() == tmp_path / "ids"
    monkeypatch.delenv("MESH_IDENTITY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert identity_folder() == tmp_path / "config" / "acme-mesh" / "identities"


def test_a_service_actor_names_its_domain() -> None:
    actor = Actor.service("sales", "airflow dag=sales__orders run=manual__1")
    assert (actor.id, actor.method, actor.is_person) == ("service:sales", "service", False)
    with pytest.raises(IdentityError, match="not a service identity"):
        Actor.service("Sales!", "x")
    with pytest.raises(IdentityError, match="not a normalised e-mail"):
        Actor(id="Alice@acme.example", method="ed25519", evidence="key x")


def test_the_council_registers_a_printed_public_key_once(example_root: Path, mine: Path) -> None:
    from governance.identity import register_people
    from governance.policy import load_policy

    public = create_identity("Newcomer@acme.example", mine)
    assert register_people(example_root / "mesh.toml", {"NEWCOMER@acme.example": public}) == ["newcomer@acme.example"]
    assert register_people(example_root / "mesh.toml", {"newcomer@acme.example": public}) == []
    policy = load_policy(example_root)
    assert policy.people["newcomer@acme.example"].public_key == public
    other = create_identity("newcomer@acme.example", mine.parent / "other")
    with pytest.raises(IdentityError, match="already registered with another key") as caught:
        register_people(example_root / "mesh.toml", {"newcomer@acme.example": other})
    assert "rotate" in caught.value.fix
    assert "# Governance policies" in (example_root / "mesh.toml").read_text(), "comments are kept"


def _mesh_identity_create(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([Path(sys.executable).with_name("mesh"), "identity", "create", ALICE], capture_output=True,
                          text=True, timeout=120, check=False, env={**os.environ, "MESH_IDENTITY": str(folder)})


def test_create_in_a_shared_folder_refuses_and_leaves_its_mode_alone(tmp_path: Path) -> None:
    """MESH_IDENTITY=/tmp-like folder (1777): it stayed shared for everyone else, yet became 0700;
    now it keeps its mode and the key is refused there, naming the folder and the fix."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    done = _mesh_identity_create(shared)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"{shared}: the key folder is writable by group or others (mode 0o1777)" in done.stderr, done.stderr
    assert "Fix: keep keys in a folder of your own" in done.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777 and not list(shared.iterdir())


def test_create_keeps_the_mode_of_an_existing_private_folder(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o750)
    mine.chmod(0o750)
    done = _mesh_identity_create(mine)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(mine.stat().st_mode) == 0o750 and (mine / f"{ALICE}.ed25519").exists()


def test_create_makes_a_missing_folder_owner_only(tmp_path: Path) -> None:
    fresh = tmp_path / "a" / "fresh"
    assert _mesh_identity_create(fresh).returncode == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700


#: A key on a curve the cryptography library does not read (secp112r1): it raises
#: UnsupportedAlgorithm, which is no ValueError.
UNSUPPORTED_CURVE = (b"-----BEGIN PRIVATE KEY-----\n"
                     b"ME4CAQAwEAYHKoZIzj0CAQYFK4EEAAYENzA1AgEBBA4nLCPW4LuXuMhX4TGDxqEg\n"
                     b"Ax4ABKh8RZv4ari0/aCbRltIkj4Ts5YuPFKLBr9geRM=\n"
                     b"-----END PRIVATE KEY-----\n")


def _encrypted(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))


def _other_algorithm(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path, 0o600)


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir(mode=0o700)


def _huge(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(3 * 2**30)  # sparse: no disk used, but read whole it would be 3 GiB of memory


@pytest.mark.parametrize(("replace", "said"), [
    pytest.param(_encrypted, "encrypted with a passphrase", id="encrypted"),
    pytest.param(lambda p: p.write_bytes(UNSUPPORTED_CURVE), "is not supported", id="unsupported-curve"),
    pytest.param(_other_algorithm, "not an Ed25519 key (an EC key)", id="other-algorithm"),
    pytest.param(lambda p: p.write_bytes(b"\xff garbage"), "not a PEM private key", id="garbage"),
    pytest.param(_fifo, "not a regular file", id="fifo"),
    pytest.param(_folder, "not a regular file", id="folder"),
    pytest.param(_huge, "more than any key file", id="huge"),
])
def test_a_held_key_file_of_any_kind_is_one_identity_error_naming_it(mine: Path, replace: Callable[[Path], None],
                                                                   said: str) -> None:
    """Whatever stands where the key file belongs, acting as its person is refused with the file
    and the fix: not a TypeError or UnsupportedAlgorithm traceback, not a wait on a FIFO, not 3 GiB
    read into memory."""
    public = create_identity(ALICE, mine)
    path = mine / f"{ALICE}.ed25519"
    replace(path)
    with pytest.raises(IdentityError, match=re.escape(said)) as caught:
        LocalIdentity(people={ALICE: public}, folder=mine).authenticate(ALICE)
    assert caught.value.where == str(path) and caught.value.fix
