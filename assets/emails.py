"""E-mail addresses: the one grammar every owner, person, approver, actor and alert recipient is
checked against.

An address is a local part of dot-separated atoms (RFC 5322's dot-atom, without ``/``: no path
separators, no leading, trailing or doubled dots), at most 64 characters, then ``@`` and an
ASCII host name of dot-separated labels of at most 63 characters whose last label starts with a
letter (no IP addresses; an international domain is written in its ``xn--`` form), at most 254
characters in all, printable. The local part may use any letter (``jürgen@``, ``İlker@``) after
:func:`normalize_email` (NFC, stripped, case-folded), the form in which addresses are compared.
"""

from __future__ import annotations

import re
import unicodedata

#: What a local part's atom may not hold: space, ``@``, path separators and RFC 5322's specials.
_ATOM = r"[^\s@/\\\"(),:;<>\[\].]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?:{_LABEL}\.)+{_TOP_LABEL}")
MAX_LENGTH = 254  # RFC 5321's limit on a forward path
MAX_LOCAL_LENGTH = 64


def normalize_email(text: str) -> str:
    """The one form of an e-mail address used for every comparison: NFC, stripped, case-folded."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).strip().casefold())


def is_email(text: object) -> bool:
    """Whether ``text`` is an e-mail address (module docstring); never raises, whatever ``text`` is."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH or not text.isprintable():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    match = _EMAIL.fullmatch(text)
    return match is not None and len(match.group("local")) <= MAX_LOCAL_LENGTH
