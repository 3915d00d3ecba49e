"""The ``oidc`` identity provider: a person proves who they are with a token from the company's
OpenID Connect issuer.

Settings (``mesh.toml`` ``[identity]``): ``issuer``, ``audience``, optional ``jwks_url`` (else
the ``jwks_uri`` of ``<issuer>/.well-known/openid-configuration``) and ``email_claim`` (default
``email``). The token comes from ``$MESH_TOKEN`` or is passed in. It must be signed (RS256,
ES256 or EdDSA) by a key in the issuer's JWKS, for this audience, by this issuer, and carry
``exp`` and ``iat``. Each refusal says which of these failed; no message contains the token.
The issuer's keys are fetched sparingly (:mod:`governance.identity.jwks`): pass one
:class:`IssuerKeys` as ``keys`` to the providers of many tokens (the web app does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jwt

from assets.emails import is_email, normalize_email
from governance.identity.actor import Actor
from governance.identity.errors import IdentityError
from governance.identity.jwks import IssuerKeys

ALGORITHMS = ("RS256", "ES256", "EdDSA")
_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class OidcIdentity:
    """The ``oidc`` provider. ``token`` overrides ``$MESH_TOKEN`` (read when authenticating)."""

    kind: ClassVar[str] = "oidc"
    issuer: str
    audience: str
    jwks_url: str | None = None
    email_claim: str = "email"
    token: str | None = field(default=None, repr=False)
    timeout_seconds: float = _TIMEOUT
    keys: IssuerKeys | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.keys is None:  # one provider's own; a server shares one across requests
            object.__setattr__(self, "keys", IssuerKeys(self.issuer, self.jwks_url, self.timeout_seconds))
        for key, url in (("issuer", self.issuer), ("jwks_url", self.jwks_url)):
            if url is not None and not url.startswith(("https://", "http://")):
                raise IdentityError(f"'{url}' is not an http(s) URL", where=f"[identity].{key}",
                                    fix=f'write {key} = "https://login.acme.example"')
        if not self.audience:
            raise IdentityError("the audience is empty", where="[identity].audience",
                                fix='write audience = "<the client id the issuer gives the mesh>"')
        if not self.email_claim:
            raise IdentityError("the e-mail claim name is empty", where="[identity].email_claim",
                                fix='write email_claim = "email" or remove it')

    def authenticate(self, claimed: str | None) -> Actor:
        """The person the token proves; ``claimed`` (from ``--as``), if given, must be them."""
        token = self.token if self.token is not None else os.environ.get("MESH_TOKEN")
        if not token:
            raise IdentityError("no token was given", where="authenticate (oidc)",
                                fix=f"log in at {self.issuer} and set MESH_TOKEN to your ID token")
        claims = self._verify(token)
        email = claims.get(self.email_claim)
        if not isinstance(email, str) or not is_email(normalize_email(email)):
            raise IdentityError(f"the token carries no e-mail address in claim '{self.email_claim}'",
                                where=f"token of {self.issuer}",
                                fix="request the 'email' scope at login, or set [identity].email_claim")
        if claims.get("email_verified") is False:
            raise IdentityError(f"the issuer has not verified the e-mail address '{email}'",
                                where=f"token of {self.issuer}", fix="verify your address with the issuer")
        actor = normalize_email(email)
        if claimed is not None and claimed.strip() and normalize_email(claimed) != actor:
            raise IdentityError(f"--as names '{claimed.strip()}' but the token proves '{actor}'",
                                where="authenticate (oidc)",
                                fix=f"drop --as (MESH_USER), or log in as {claimed.strip()}")
        subject = "".join(c for c in str(claims.get("sub", "?")) if c.isprintable() and not c.isspace())[:80] or "?"
        return Actor(id=actor, method="oidc", evidence=f"issuer={self.issuer} sub={subject}"[:200])

    # -- verification --------------------------------------------------------------------------
    def _verify(self, token: str) -> dict[str, Any]:
        where = f"token of {self.issuer}"
        if not isinstance(token, str) or not token.isascii() or token.count(".") != 2:
            raise IdentityError("MESH_TOKEN is not a JSON Web Token", where=where,
                                fix="set MESH_TOKEN to the ID token your issuer gave you (three dot-separated parts)")
        try:
            jwt.get_unverified_header(token)
            assert self.keys is not None  # set on construction
            signing_key = self.keys.signing_key(token)
            claims: dict[str, Any] = jwt.decode(
                token, signing_key, algorithms=list(ALGORITHMS), audience=self.audience, issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise IdentityError("the token has expired", where=where,
                                fix=f"log in again at {self.issuer} and set MESH_TOKEN to the new token") from None
        except jwt.InvalidAudienceError:
            raise IdentityError(f"the token is not for this mesh (audience '{self.audience}')", where=where,
                                fix=f"request a token for audience '{self.audience}'") from None
        except jwt.InvalidIssuerError:
            raise IdentityError(f"the token was not issued by '{self.issuer}'", where=where,
                                fix=f"log in at {self.issuer}, the issuer mesh.toml [identity] names") from None
        except jwt.MissingRequiredClaimError as exc:
            raise IdentityError(f"the token lacks the '{exc.claim}' claim", where=where,
                                fix="use an ID token of the issuer; it carries exp, iat, iss and aud") from None
        except jwt.ImmatureSignatureError:
            raise IdentityError("the token is not valid yet (iat or nbf in the future)", where=where,
                                fix="check this machine's clock, then log in again") from None
        except jwt.PyJWKClientConnectionError:
            raise IdentityError(f"cannot fetch the signing keys of '{self.issuer}'", where=where,
                                fix="check the network and [identity].jwks_url") from None
        except (jwt.PyJWKClientError, jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
            raise IdentityError(f"the token is not signed by a key of '{self.issuer}' (not in its JWKS)",
                                where=where, fix=f"use a token issued by {self.issuer}") from None
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise IdentityError("the token is not a valid JSON Web Token", where=where,
                                fix="set MESH_TOKEN to the ID token your issuer gave you") from None
        return claims
