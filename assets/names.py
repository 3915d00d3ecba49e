"""The grammar of the mesh's names: a domain's or an asset's name (``lower_snake_case``) and an
asset key (``domain.name``). What a person declares is checked with it, and so is every key read
back from stored state, since storage turns a key into a folder."""

from __future__ import annotations

import re

__all__ = ["ASSET_KEY", "NAME", "is_asset_key"]

#: A domain's, an asset's or a parameter's name: ``sales``, ``daily_orders``.
NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")
#: An asset key: ``<domain>.<name>``.
ASSET_KEY = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\Z")


def is_asset_key(text: object) -> bool:
    """Whether ``text`` is an asset key (``domain.name``)."""
    return isinstance(text, str) and ASSET_KEY.match(text) is not None
