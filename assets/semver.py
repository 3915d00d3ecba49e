"""Semantic versions (``MAJOR.MINOR.PATCH``): the grammar of every ``contract_version``, the one an
``@asset`` declares and the one a stored manifest carries, which contract evolution compares."""

from __future__ import annotations

import re

_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\Z")
#: Longer than any version a person writes, and short enough that each number parses as an ``int``
#: (Python refuses to parse a number of more than 4,300 digits).
MAX_LENGTH = 256


def is_semver(text: object) -> bool:
    """Whether ``text`` is a semantic version (``MAJOR.MINOR.PATCH``, as ``contract_version`` must be)."""
    return isinstance(text, str) and len(text) <= MAX_LENGTH and bool(_SEMVER.match(text))
