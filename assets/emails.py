"""E-mail addresses: the one grammar every owner, person and actor is checked against.

A dot-atom local part and a dotted host name, as people write addresses (RFC 5322's dot-atom
form, without its rarely used ``/``): no path separators, no leading, trailing or doubled dots,
no spaces or control characters. Compared only after :func:`normalize_email`.
"""

from __future__ import annotations

import re

_ATOM = r"[\w!#$%&'*+=?^`{|}~-]+"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$")
_MAX_LENGTH = 254  # RFC 5321's limit on a forward path


def normalize_email(text: str) -> str:
    """The one form of an e-mail address used for every comparison: stripped and case-folded."""
    return text.strip().casefold()


def is_email(text: object) -> bool:
    """Whether ``text`` is an e-mail address (a string, encodable, at most 254 characters)."""
    if not isinstance(text, str) or len(text) > _MAX_LENGTH:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(_EMAIL.fullmatch(text))
