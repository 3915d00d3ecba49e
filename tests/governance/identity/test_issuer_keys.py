"""The issuer's keys are fetched sparingly, against the real issuer on loopback: a token whose
``kid`` the issuer does not publish refetches them at most once per interval, however many such
tokens come; a key the issuer rotates in is accepted once the interval has passed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from assets.errors import ConfigError
from governance.identity import IdentityError, OidcIdentity
from governance.identity.jwks import IssuerKeys
from governance.identity.provider import issuer_keys
from governance.policy import load_policy
from tests.governance.identity.test_identity_oidc import AUDIENCE, Issuer, issuer  # noqa: F401 (the fixture)

JWKS = "/jwks.json"


@dataclass
class Clock:
    """Monotonic seconds the test sets: the interval passes when the test says so."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


def _authenticate(issuer: Issuer, keys: IssuerKeys, token: str) -> str:  # noqa: F811
    return OidcIdentity(issuer=issuer.url, audience=AUDIENCE, token=token, keys=keys).authenticate(None).id


def test_unknown_kids_refetch_the_keys_at_most_once_per_interval(issuer: Issuer) -> None:  # noqa: F811
    clock = Clock()
    keys = IssuerKeys(issuer.url, refetch_seconds=60, clock=clock)
    before = issuer.hits[JWKS]
    assert _authenticate(issuer, keys, issuer.token()) == "ana@acme.example"
    assert issuer.hits[JWKS] == before + 1 and keys.fetches == 1
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(50):  # an unauthenticated caller making up kids
        with pytest.raises(IdentityError, match="is not in the issuer's keys") as refused:
            _authenticate(issuer, keys, issuer.token(key=stranger, kid=f"made-up-{n}"))
        assert "at most every 60 s" in refused.value.fix
    assert issuer.hits[JWKS] == before + 1, "a made-up kid made the server fetch the issuer's keys"
    clock.now += 60
    for n in range(50):
        with pytest.raises(IdentityError, match="is not in the issuer's keys"):
            _authenticate(issuer, keys, issuer.token(key=stranger, kid=f"later-{n}"))
    assert issuer.hits[JWKS] == before + 2 and keys.fetches == 2  # once in the next interval
    assert _authenticate(issuer, keys, issuer.token()) == "ana@acme.example"  # known kid: no fetch
    assert issuer.hits[JWKS] == before + 2


def test_a_key_rotated_in_is_accepted_after_the_interval(issuer: Issuer) -> None:  # noqa: F811
    clock = Clock()
    keys = IssuerKeys(issuer.url, refetch_seconds=60, clock=clock)
    assert _authenticate(issuer, keys, issuer.token()) == "ana@acme.example"
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer.publish(rotated, "rotated-in")
    token = issuer.token(key=rotated, kid="rotated-in")
    clock.now += 10
    with pytest.raises(IdentityError, match="fetched 10 s ago"):  # fetched before the rotation
        _authenticate(issuer, keys, token)
    clock.now += 50
    assert _authenticate(issuer, keys, token) == "ana@acme.example" and keys.fetches == 2


def test_an_unreachable_issuer_is_tried_again_only_after_the_interval() -> None:
    clock = Clock()
    keys = IssuerKeys("http://127.0.0.1:9", timeout_seconds=1, refetch_seconds=60, clock=clock)
    token = Issuer(url="http://127.0.0.1:9", key=rsa.generate_private_key(public_exponent=65537,
                                                                          key_size=2048)).token()
    for _ in range(5):
        with pytest.raises(IdentityError, match="cannot read the OpenID configuration"):
            OidcIdentity(issuer="http://127.0.0.1:9", audience=AUDIENCE, token=token, keys=keys).authenticate(None)
    assert keys.fetches == 1
    clock.now += 60
    with pytest.raises(IdentityError, match="cannot read the OpenID configuration"):
        OidcIdentity(issuer="http://127.0.0.1:9", audience=AUDIENCE, token=token, keys=keys).authenticate(None)
    assert keys.fetches == 2


@pytest.mark.parametrize(("value", "error"), [("30", None), ("0", "from 1 to 300"), ("301", "from 1 to 300"),
                                              ('"often"', "must be a number"), ("true", "must be a number")])
def test_mesh_toml_sets_the_refetch_interval(example_root: Path, issuer: Issuer, value: str,  # noqa: F811
                                            error: str | None) -> None:
    with (example_root / "mesh.toml").open("a") as fh:
        fh.write(f'\n[identity]\nprovider = "oidc"\nissuer = "{issuer.url}"\naudience = "{AUDIENCE}"\n'
                 f"jwks_refetch_seconds = {value}\n")
    if error is None:
        policy = load_policy(example_root)
        assert policy.identity.jwks_refetch_seconds == 30.0 and issuer_keys(policy).refetch_seconds == 30.0
        return
    with pytest.raises(ConfigError, match=error) as refused:
        load_policy(example_root)
    assert "jwks_refetch_seconds" in str(refused.value)
