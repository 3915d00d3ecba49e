"""The error every identity refusal raises: it names the person, the action and the fix."""

from __future__ import annotations

from assets.errors import MeshError


class IdentityError(MeshError):
    """Who is acting could not be established, or a key or signature was refused."""
