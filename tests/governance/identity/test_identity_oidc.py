"""The oidc identity provider against a real issuer on loopback: discovery document, JWKS, and
tokens minted with PyJWT. Every refusal is one clear message, and never contains the token."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from governance.identity import Actor, IdentityError, OidcIdentity, identity_provider
from governance.policy import load_policy

AUDIENCE = "acme-mesh"


@dataclass(frozen=True)
class Issuer:
    """A real OpenID Connect issuer on loopback: ``hits`` counts the requests per path; ``jwks``
    is what it publishes (a test may add a key)."""

    url: str
    key: rsa.RSAPrivateKey
    hits: Counter[str] = field(default_factory=Counter)
    jwks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def publish(self, key: rsa.RSAPrivateKey, kid: str) -> None:
        """Add ``key`` to the issuer's JWKS under ``kid`` (a key rotated in)."""
        self.jwks["keys"].append({**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid,
                                  "use": "sig", "alg": "RS256"})

    def token(self, *, key: rsa.RSAPrivateKey | None = None, kid: str = "k1", **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "sub": "u-123", "email": "Ana@Acme.example", "iat": now,
                "exp": now + 300, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    hits: Counter[str] = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            hits[self.path] += 1
            documents = {"/.well-known/openid-configuration": {"issuer": url, "jwks_uri": f"{url}/jwks.json"},
                         "/jwks.json": jwks}
            document = documents.get(self.path)
            body = json.dumps(document).encode()
            self.send_response(200 if document else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Issuer(url=url, key=key, hits=hits, jwks=jwks)
    server.shutdown()
    server.server_close()


def provider(issuer: Issuer, token: str) -> OidcIdentity:
    return OidcIdentity(issuer=issuer.url, audience=AUDIENCE, token=token)


def test_a_valid_token_authenticates_its_email(issuer: Issuer) -> None:
    actor = provider(issuer, issuer.token()).authenticate(None)
    assert actor == Actor(id="ana@acme.example", method="oidc", evidence=f"issuer={issuer.url} sub=u-123")
    assert provider(issuer, issuer.token()).authenticate("ANA@acme.example").id == "ana@acme.example"


def test_the_token_comes_from_mesh_token(issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_TOKEN", issuer.token())
    explicit = OidcIdentity(issuer=issuer.url, audience=AUDIENCE, jwks_url=f"{issuer.url}/jwks.json")
    assert explicit.authenticate(None).id == "ana@acme.example"
    monkeypatch.delenv("MESH_TOKEN")
    with pytest.raises(IdentityError, match="no token was given") as caught:
        explicit.authenticate(None)
    assert "MESH_TOKEN" in caught.value.fix


def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(("mint", "message"), [
    pytest.param(lambda i: i.token(aud="another-app"), "the token is not for this mesh (audience 'acme-mesh')",
                 id="wrong-audience"),
    pytest.param(lambda i: i.token(exp=int(time.time()) - 60, iat=int(time.time()) - 600), "the token has expired",
                 id="expired"),
    pytest.param(lambda i: i.token(key=_other_key()), "is not signed by a key of", id="other-key-same-kid"),
    pytest.param(lambda i: i.token(key=_other_key(), kid="evil"), "is not signed by a key of", id="kid-not-in-jwks"),
    pytest.param(lambda i: i.token(iss="https://login.evil.example"), "the token was not issued by", id="wrong-issuer"),
    pytest.param(lambda i: i.token(exp=None), "the token lacks the 'exp' claim", id="no-exp"),
    pytest.param(lambda i: i.token(email=None), "carries no e-mail address in claim 'email'", id="no-email"),
    pytest.param(lambda i: i.token(email_verified=False), "has not verified the e-mail address", id="unverified"),
    pytest.param(lambda i: "not-a-token", "is not a JSON Web Token", id="garbage"),
])
def test_each_bad_token_is_refused_with_its_own_message(issuer: Issuer, mint: Any, message: str) -> None:
    token = mint(issuer)
    with pytest.raises(IdentityError) as caught:
        provider(issuer, token).authenticate(None)
    assert message in str(caught.value)
    assert token not in str(caught.value) and token.split(".")[-1] not in str(caught.value)
    assert caught.value.fix


def test_as_someone_else_than_the_token_proves_is_refused(issuer: Issuer) -> None:
    with pytest.raises(IdentityError, match="--as names 'council@acme.example' but the token proves 'ana@acme.exa"):
        provider(issuer, issuer.token()).authenticate("council@acme.example")


def test_mesh_toml_chooses_the_oidc_provider(issuer: Issuer, example_root: Path) -> None:
    assert identity_provider(load_policy(example_root)).kind == "local", "the embedded default"
    with (example_root / "mesh.toml").open("a") as fh:
        fh.write(f'\n[identity]\nprovider = "oidc"\nissuer = "{issuer.url}"\naudience = "{AUDIENCE}"\n')
    chosen = identity_provider(load_policy(example_root), token=issuer.token())
    assert chosen.kind == "oidc" and chosen.authenticate(None).method == "oidc"


def test_an_unreachable_issuer_is_refused_clearly() -> None:
    token = Issuer(url="http://127.0.0.1:9", key=_other_key()).token()
    dead = OidcIdentity(issuer="http://127.0.0.1:9", audience=AUDIENCE, token=token, timeout_seconds=1)
    with pytest.raises(IdentityError, match="cannot read the OpenID configuration of 'http://127.0.0.1:9'") as caught:
        dead.authenticate(None)
    assert token not in str(caught.value)
