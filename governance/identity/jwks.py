"""The signing keys of an OpenID Connect issuer, fetched sparingly.

The keys (the issuer's JWKS, at ``jwks_url`` or at the ``jwks_uri`` of its discovery document)
are fetched when first needed, again once they are ``max_age_seconds`` old (a key the issuer
withdrew stops being accepted), and again for a token whose ``kid`` is not among them (the
issuer rotated its keys), but never more often than once per ``refetch_seconds``: a caller who
sends tokens with made-up ``kid`` values cannot make the server fetch the issuer's keys per
request. In between, such a token is refused (the web app's 401) saying when the keys were
fetched. A fetch that failed is likewise tried again only after ``refetch_seconds``.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import jwt

from governance.identity.errors import IdentityError
from assets.stored_json import load_json

#: The least time between two fetches of an issuer's keys, by default.
REFETCH_SECONDS = 60.0
#: How old fetched keys may get before they are fetched again, by default.
MAX_AGE_SECONDS = 300.0


@dataclass(slots=True)
class IssuerKeys:
    """The signing keys of ``issuer`` (module docstring). ``fetches`` counts the fetches of its
    keys (each a request to the issuer, discovery aside); ``clock`` is monotonic seconds."""

    issuer: str
    jwks_url: str | None = None
    timeout_seconds: float = 10.0
    refetch_seconds: float = REFETCH_SECONDS
    max_age_seconds: float = MAX_AGE_SECONDS
    clock: Callable[[], float] = time.monotonic
    fetches: int = field(default=0, init=False)
    _keys: dict[str | None, jwt.PyJWK] = field(default_factory=dict, init=False, repr=False)
    _fetched_at: float | None = field(default=None, init=False)
    _failure: IdentityError | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.refetch_seconds > 0 or not self.max_age_seconds >= self.refetch_seconds:
            raise ValueError(f"keys refetched every {self.refetch_seconds} s and kept {self.max_age_seconds} s: "
                             "both must be positive, kept at least as long as the refetch interval")

    def signing_key(self, token: str) -> jwt.PyJWK:
        """The issuer's key that signed ``token`` (by its ``kid``), else :class:`IdentityError`."""
        kid = jwt.get_unverified_header(token).get("kid")
        with self._lock:
            now = self.clock()
            since = None if self._fetched_at is None else now - self._fetched_at
            if since is None or since >= self.max_age_seconds or (kid not in self._keys
                                                                  and since >= self.refetch_seconds):
                self._fetch(now)
            key = self._keys.get(kid)
            if key is not None:
                return key  # also when a refresh failed: the keys fetched last stay in use
            if self._failure is not None:
                raise self._failure
            age = now - (self._fetched_at if self._fetched_at is not None else now)
        shown = "".join(c for c in str(kid) if c.isprintable())[:40]
        raise IdentityError(f"the token is not signed by a key of '{self.issuer}' (its kid '{shown}' is not in the "
                            f"issuer's keys, fetched {age:.0f} s ago)", where=f"token of {self.issuer}",
                            fix=f"use a token issued by {self.issuer}; keys it rotated in are fetched at most "
                                f"every {self.refetch_seconds:.0f} s")

    def _fetch(self, now: float) -> None:
        """Fetch the keys now (under the lock); a failure is kept, with the keys fetched before,
        until the next try."""
        self._fetched_at = now
        self.fetches += 1
        try:
            client = jwt.PyJWKClient(self.jwks_url or self._discover(), cache_jwk_set=False, cache_keys=False,
                                     timeout=max(1, int(self.timeout_seconds)))
            self._keys, self._failure = {k.key_id: k for k in client.get_signing_keys()}, None
        except IdentityError as exc:
            self._failure = exc
        except jwt.PyJWKClientConnectionError:
            self._failure = IdentityError(f"cannot fetch the signing keys of '{self.issuer}'",
                                          where=f"token of {self.issuer}",
                                          fix="check the network and [identity].jwks_url; tried again at most every "
                                              f"{self.refetch_seconds:.0f} s")
        except (jwt.PyJWKClientError, jwt.PyJWTError, ValueError):
            self._failure = IdentityError(f"the issuer '{self.issuer}' publishes no usable signing key",
                                          where=f"keys of {self.issuer}",
                                          fix="check [identity].jwks_url, or ask the issuer's operators")

    def _discover(self) -> str:
        """The ``jwks_uri`` of the issuer's discovery document (kept once found)."""
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_seconds) as response:  # noqa: S310 (http(s) only)
                document = load_json(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise IdentityError(f"cannot read the OpenID configuration of '{self.issuer}': {type(exc).__name__}",
                                where=url, fix="check the network and [identity].issuer, or set jwks_url") from None
        jwks = document.get("jwks_uri") if isinstance(document, dict) else None
        if not isinstance(jwks, str) or not jwks.startswith(("https://", "http://")):
            raise IdentityError("the OpenID configuration names no jwks_uri", where=url,
                                fix="set [identity].jwks_url to the issuer's JWKS address")
        self.jwks_url = jwks
        return jwks
