"""Signed HTTP requests: a person's key proves who sends a request, once, for exactly that
mesh, method, host and path, within the clock window; anything else is refused with a clear
message."""

from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path

import pytest

from governance.identity import Actor, IdentityError, RequestAuthenticator, sign_request
from governance.identity.replays import ReplayMemoryFullError
from governance.identity.signed_requests import (
    MAX_SKEW_SECONDS,
    REPLAY_WINDOW_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    USER_HEADER,
    replay_memory,
)
from governance.policy import load_policy

ANALYST = "analyst@acme.example"
PATH = "/api/products/sales.orders?format=arrow"
HOST = "mesh.acme.example:8765"
URL = f"http://{HOST}{PATH}"


def sent(headers: dict[str, str], host: str = HOST) -> dict[str, str]:
    """``headers`` as the server receives them: with the ``Host`` the client sent to."""
    return {"Host": host, **headers}


@pytest.fixture
def authenticator(example_root: Path) -> RequestAuthenticator:
    return RequestAuthenticator(load_policy(example_root))


def test_a_signed_request_authenticates_its_sender(authenticator: RequestAuthenticator) -> None:
    headers = sign_request(authenticator.policy, "Analyst@Acme.example", "GET", URL)
    actor = authenticator.authenticate(sent(headers), "GET", PATH)
    assert actor.id == ANALYST and actor.method == "ed25519" and "signed request" in actor.evidence
    assert isinstance(actor, Actor)


@pytest.mark.parametrize(("method", "path", "shift", "why"), [
    pytest.param("GET", "/api/products/customers.customers", 0, "not '", id="another path"),
    pytest.param("POST", PATH, 0, "not '", id="another method"),
    pytest.param("GET", PATH, MAX_SKEW_SECONDS + 5, "timestamp", id="too old"),
    pytest.param("GET", PATH, -MAX_SKEW_SECONDS - 5, "timestamp", id="from the future"),
])
def test_a_signature_proves_only_its_own_request_now(authenticator: RequestAuthenticator, method: str, path: str,
                                                      shift: int, why: str) -> None:
    headers = sign_request(authenticator.policy, ANALYST, "GET", URL, now=time.time() - shift)
    with pytest.raises(IdentityError, match=why):
        authenticator.authenticate(sent(headers), method, path)


def test_a_signed_request_is_accepted_once(authenticator: RequestAuthenticator) -> None:
    headers = sign_request(authenticator.policy, ANALYST, "GET", URL)
    authenticator.authenticate(sent(headers), "GET", PATH)
    with pytest.raises(IdentityError, match="replay"):
        authenticator.authenticate(sent(headers), "GET", PATH)


def test_a_replay_under_another_base64_text_of_the_same_signature_is_refused(
        authenticator: RequestAuthenticator) -> None:
    headers = sign_request(authenticator.policy, ANALYST, "GET", URL)
    authenticator.authenticate(sent(headers), "GET", PATH)
    text = headers[SIGNATURE_HEADER]  # "ed25519:" + 86 characters + "==": the last one carries 4 unused bits
    unused = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(text[-3]) ^ 1
    twin = text[:-3] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[unused] + "=="
    assert twin != text and base64.b64decode(twin[8:]) == base64.b64decode(text[8:])
    with pytest.raises(IdentityError, match="replay"):
        authenticator.authenticate(sent({**headers, SIGNATURE_HEADER: twin}), "GET", PATH)


def test_unsigned_unknown_or_forged_requests_are_refused(authenticator: RequestAuthenticator) -> None:
    with pytest.raises(IdentityError, match="not signed"):
        authenticator.authenticate(sent({}), "GET", PATH)
    headers = sign_request(authenticator.policy, ANALYST, "GET", URL)
    with pytest.raises(IdentityError, match="not registered"):
        authenticator.authenticate(sent({**headers, USER_HEADER: "mallory@evil.example"}), "GET", PATH)
    other = sign_request(authenticator.policy, "council@acme.example", "GET", URL)
    with pytest.raises(IdentityError, match="registered key") as refused:
        authenticator.authenticate(sent({**headers, SIGNATURE_HEADER: other[SIGNATURE_HEADER]}), "GET", PATH)
    assert other[SIGNATURE_HEADER] not in str(refused.value)


@pytest.mark.parametrize("stamp", ["²", "¹⁷⁰⁰⁰⁰⁰⁰⁰⁰", "9" * 5000, "-5", " 1"], ids=["superscript", "superscripts",
                                                                                  "5000 digits", "negative", "spaced"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused_not_a_crash(authenticator: RequestAuthenticator,
                                                                     stamp: str) -> None:
    headers = {**sign_request(authenticator.policy, ANALYST, "GET", URL), TIMESTAMP_HEADER: stamp}
    with pytest.raises(IdentityError, match="timestamp"):
        authenticator.authenticate(sent(headers), "GET", PATH)


def test_a_request_signed_for_one_mesh_is_refused_by_another_with_the_same_person_and_key(
        authenticator: RequestAuthenticator, tmp_path: Path) -> None:
    """Both meshes register the analyst's key: a request signed for 'acme' and replayed, within
    the clock window, at 'beta' (the same host, path and person) proves nothing there."""
    other = tmp_path / "beta"
    shutil.copytree(authenticator.policy.root, other, symlinks=True)
    toml = other / "mesh.toml"
    toml.write_text(toml.read_text().replace('name = "acme"', 'name = "beta"', 1))
    beta = RequestAuthenticator(load_policy(other))
    assert beta.policy.settings.name == "beta" and beta.policy.people[ANALYST] == authenticator.policy.people[ANALYST]
    for_acme = sign_request(authenticator.policy, ANALYST, "GET", URL)
    with pytest.raises(IdentityError, match="for this request to mesh 'beta'") as refused:
        beta.authenticate(sent(for_acme), "GET", PATH)
    assert "for mesh 'beta'" in refused.value.fix
    assert beta.authenticate(sent(sign_request(beta.policy, ANALYST, "GET", URL)), "GET", PATH).id == ANALYST
    assert authenticator.authenticate(sent(for_acme), "GET", PATH).id == ANALYST  # where it was meant for


@pytest.mark.parametrize(("signed_for", "received_as", "ok"), [
    pytest.param("mesh.acme.example:8765", "other.acme.example:8765", False, id="another host"),
    pytest.param("mesh.acme.example:8765", "mesh.acme.example:9999", False, id="another port"),
    pytest.param("MESH.acme.example:8765", "mesh.acme.example:8765", True, id="case"),
    pytest.param("mesh.acme.example:80", "mesh.acme.example", True, id="default port left out"),
])
def test_a_signature_names_the_host_it_was_sent_to(authenticator: RequestAuthenticator, signed_for: str,
                                                   received_as: str, ok: bool) -> None:
    headers = sign_request(authenticator.policy, ANALYST, "GET", f"http://{signed_for}{PATH}")
    if ok:
        assert authenticator.authenticate(sent(headers, received_as), "GET", PATH).id == ANALYST
    else:
        with pytest.raises(IdentityError, match="for this request"):
            authenticator.authenticate(sent(headers, received_as), "GET", PATH)


def test_signing_needs_the_whole_address(authenticator: RequestAuthenticator) -> None:
    with pytest.raises(IdentityError, match="is not the whole address") as refused:
        sign_request(authenticator.policy, ANALYST, "GET", PATH)
    assert "http://" in refused.value.fix


def test_a_full_replay_memory_refuses_new_requests_and_never_forgets_an_unexpired_one(example_root: Path) -> None:
    """Dropping the oldest signature once the memory was full let it be replayed within its
    window. A full memory refuses instead (once reported as the first), and makes room only as
    signatures expire."""
    small = RequestAuthenticator(load_policy(example_root), seen=replay_memory(2))
    start = time.time()
    first, second, third = (sign_request(small.policy, ANALYST, "GET", f"{URL}&n={n}", now=start) for n in range(3))
    for n, headers in enumerate((first, second)):
        small.authenticate(sent(headers), "GET", f"{PATH}&n={n}", now=start)
    with pytest.raises(ReplayMemoryFullError, match="takes no new one") as full:
        small.authenticate(sent(third), "GET", f"{PATH}&n=2", now=start + 1)
    assert full.value.first and full.value.fix
    with pytest.raises(ReplayMemoryFullError) as again:
        small.authenticate(sent(third), "GET", f"{PATH}&n=2", now=start + 2)
    assert not again.value.first  # reported once per filling up
    with pytest.raises(IdentityError, match="replay"):
        small.authenticate(sent(first), "GET", f"{PATH}&n=0", now=start + 3)  # the oldest is still remembered
    later = start + REPLAY_WINDOW_SECONDS + 1  # both expired: room again
    fresh = sign_request(small.policy, ANALYST, "GET", f"{URL}&n=3", now=later)
    assert small.authenticate(sent(fresh), "GET", f"{PATH}&n=3", now=later).id == ANALYST
    assert len(small.seen) == 1
