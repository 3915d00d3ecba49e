"""Signed HTTP requests: a person's key proves who sends a request, once, for exactly that
method and path, within the clock window; anything else is refused with a clear message."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from governance.identity import Actor, IdentityError, RequestAuthenticator, sign_request
from governance.identity.signed_requests import (
    MAX_SKEW_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    USER_HEADER,
)
from governance.policy import load_policy

ANALYST = "analyst@acme.example"
PATH = "/api/products/sales.orders?format=arrow"


@pytest.fixture
def authenticator(example_root: Path) -> RequestAuthenticator:
    return RequestAuthenticator(load_policy(example_root))


def test_a_signed_request_authenticates_its_sender(authenticator: RequestAuthenticator) -> None:
    headers = sign_request(authenticator.policy, "Analyst@Acme.example", "GET", PATH)
    actor = authenticator.authenticate(headers, "GET", PATH)
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
    headers = sign_request(authenticator.policy, ANALYST, "GET", PATH, now=time.time() - shift)
    with pytest.raises(IdentityError, match=why):
        authenticator.authenticate(headers, method, path)


def test_a_signed_request_is_accepted_once(authenticator: RequestAuthenticator) -> None:
    headers = sign_request(authenticator.policy, ANALYST, "GET", PATH)
    authenticator.authenticate(headers, "GET", PATH)
    with pytest.raises(IdentityError, match="replay"):
        authenticator.authenticate(headers, "GET", PATH)


def test_a_replay_under_another_base64_text_of_the_same_signature_is_refused(
        authenticator: RequestAuthenticator) -> None:
    headers = sign_request(authenticator.policy, ANALYST, "GET", PATH)
    authenticator.authenticate(headers, "GET", PATH)
    text = headers[SIGNATURE_HEADER]  # "ed25519:" + 86 characters + "==": the last one carries 4 unused bits
    unused = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(text[-3]) ^ 1
    twin = text[:-3] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[unused] + "=="
    assert twin != text and base64.b64decode(twin[8:]) == base64.b64decode(text[8:])
    with pytest.raises(IdentityError, match="replay"):
        authenticator.authenticate({**headers, SIGNATURE_HEADER: twin}, "GET", PATH)


def test_unsigned_unknown_or_forged_requests_are_refused(authenticator: RequestAuthenticator) -> None:
    with pytest.raises(IdentityError, match="not signed"):
        authenticator.authenticate({}, "GET", PATH)
    headers = sign_request(authenticator.policy, ANALYST, "GET", PATH)
    with pytest.raises(IdentityError, match="not registered"):
        authenticator.authenticate({**headers, USER_HEADER: "mallory@evil.example"}, "GET", PATH)
    other = sign_request(authenticator.policy, "council@acme.example", "GET", PATH)
    with pytest.raises(IdentityError, match="registered key") as refused:
        authenticator.authenticate({**headers, SIGNATURE_HEADER: other[SIGNATURE_HEADER]}, "GET", PATH)
    assert other[SIGNATURE_HEADER] not in str(refused.value)


@pytest.mark.parametrize("stamp", ["²", "¹⁷⁰⁰⁰⁰⁰⁰⁰⁰", "9" * 5000, "-5", " 1"], ids=["superscript", "superscripts",
                                                                                  "5000 digits", "negative", "spaced"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused_not_a_crash(authenticator: RequestAuthenticator,
                                                                     stamp: str) -> None:
    headers = {**sign_request(authenticator.policy, ANALYST, "GET", PATH), TIMESTAMP_HEADER: stamp}
    with pytest.raises(IdentityError, match="timestamp"):
        authenticator.authenticate(headers, "GET", PATH)
