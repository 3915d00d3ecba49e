"""Who acts: authenticated actors, the identity providers that prove them, signed approvals.

Every governance action takes an :class:`Actor` that a provider authenticated: a person
proving a key registered in ``mesh.toml`` ``[people]`` (``local``, the default), a person
with a token from the company's OpenID Connect issuer (``oidc``), or a domain's service
identity (``service:<domain>``) when Airflow runs its tasks. Approvals of grants are
signatures, not names. An HTTP request to the web app is proven the same way: signed with the
person's key, or carrying their OIDC token (:class:`RequestAuthenticator`, :func:`sign_request`). :func:`identity_provider` builds the provider ``[identity]`` chooses.

``governance.identity.example.enroll_people`` (not exported here) enrolls the example mesh's
people for the demo and the tests.
"""

from assets.emails import is_email, normalize_email
from governance.identity.actor import METHODS, Actor
from governance.identity.approvals import (
    Signer,
    approval_status,
    grant_payload,
    sign_approval,
    unverified_approvals,
    verify_approval,
)
from governance.identity.errors import IdentityError
from governance.identity.keys import (
    fingerprint,
    is_public_key_text,
    is_signature_text,
    public_key_text,
)
from governance.identity.local import (
    LocalIdentity,
    create_identity,
    held_public_key,
    identity_folder,
)
from governance.identity.oidc import OidcIdentity
from governance.identity.people import register_people
from governance.identity.provider import PROVIDERS, IdentityProvider, identity_provider, local_identity
from governance.identity.signed_requests import RequestAuthenticator, sign_request

__all__ = [
    "METHODS",
    "PROVIDERS",
    "RequestAuthenticator",
    "Actor",
    "IdentityError",
    "IdentityProvider",
    "LocalIdentity",
    "OidcIdentity",
    "Signer",
    "approval_status",
    "create_identity",
    "fingerprint",
    "grant_payload",
    "held_public_key",
    "identity_folder",
    "identity_provider",
    "local_identity",
    "is_email",
    "is_public_key_text",
    "is_signature_text",
    "normalize_email",
    "public_key_text",
    "register_people",
    "sign_approval",
    "sign_request",
    "unverified_approvals",
    "verify_approval",
]
