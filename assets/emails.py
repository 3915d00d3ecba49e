"""E-mail addresses: the one grammar every owner, person, approver, actor and alert recipient is
checked against.

An address is a local part of dot-separated atoms (RFC 5322's dot-atom, without ``/``: no path
separators, no leading, trailing or doubled dots), at most 64 characters, then ``@`` and an
ASCII host name of dot-separated labels of at most 63 characters whose last label starts with a
letter (no IP addresses; an international domain is written in its ``xn--`` form), at most 254
characters in all, printable. The local part may use any letter (``jürgen@``, ``İlker@``) after
:func:`normalize_email` (NFC, stripped, case-folded), the form in which addresses are compared.

A local part's letters are of one script, or of a mix that Unicode's security profile (UTS #39,
"highly restrictive") allows: Latin with Han and Japanese kana, with Han and Bopomofo, or with Han
and Hangul. Any other mix is refused: it is how a look-alike of an address is made (``аlice@``,
its first letter Cyrillic, reads as ``alice@``). So are compatibility characters (a mathematical
bold or a full-width letter, a ligature), which Unicode itself reads as another letter. A look-alike written wholly in another script
(``аре@`` for ``ape@``) is a valid address on its own; :func:`read_alike` tells when two
addresses read as each other (Unicode's confusables, as UTS #39's skeletons compare them), and the
policy refuses two such addresses in one ``mesh.toml``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

#: What a local part's atom may not hold: space, ``@``, path separators and RFC 5322's specials.
_ATOM = r"[^\s@/\\\"(),:;<>\[\].]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?:{_LABEL}\.)+{_TOP_LABEL}")
MAX_LENGTH = 254  # RFC 5321's limit on a forward path
MAX_LOCAL_LENGTH = 64
#: Scripts that may share a local part beyond one script (UTS #39, section 5.2, highly restrictive).
_ALLOWED_MIXES = (frozenset({"Latn", "Hani", "Hira", "Kana"}), frozenset({"Latn", "Hani", "Bopo"}),
                  frozenset({"Latn", "Hani", "Hang"}))
#: Characters of every script (digits, punctuation) and those that take their base's (accents).
_ANY_SCRIPT = frozenset({"Zyyy", "Zinh"})


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
    return match is not None and len(match.group("local")) <= MAX_LOCAL_LENGTH and _one_script(match.group("local"))


def _one_script(local: str) -> bool:
    """Whether the letters of ``local`` are of one script or an allowed mix (module docstring)."""
    if local.isascii():  # ASCII letters are all Latin
        return True
    if unicodedata.normalize("NFKC", local) != unicodedata.normalize("NFC", local):  # a bold or full-width "a" is an "a"
        return False
    from fontTools import (
        unicodedata as scripts,  # Unicode's script table: 30 ms to import, for non-ASCII only
    )

    used = {scripts.script(c) for c in local} - _ANY_SCRIPT
    return len(used) <= 1 or any(used <= mix for mix in _ALLOWED_MIXES)


def read_alike(first: str, second: str) -> bool:
    """Whether two different addresses read as each other: one is not ASCII, both are as long,
    and each character of one could be taken for the other's (``аре@x`` and ``ape@x``, ``yıldız@x``
    and ``yildiz@x``). Compared in :func:`normalize_email`'s form."""
    first, second = normalize_email(first), normalize_email(second)
    if first == second or len(first) != len(second) or (first.isascii() and second.isascii()):
        return False
    return all(a == b or _twins(a) & _twins(b) for a, b in zip(first, second, strict=True))


def look_alikes(emails: Iterable[str]) -> dict[str, str]:
    """Each address of ``emails`` that reads as one before it (:func:`read_alike`), with the first
    such: ASCII addresses count as before every other. Linear in practice: only addresses whose
    characters fall in the same confusable families (:func:`_family`) are compared, never every pair."""
    ordered = sorted(dict.fromkeys(emails), key=lambda e: not e.isascii())  # stable: ASCII first, then as given
    if not ordered or ordered[-1].isascii():  # two ASCII addresses never read alike: no table to load
        return {}
    seen: dict[str, list[str]] = {}
    found: dict[str, str] = {}
    for email in ordered:
        bucket = seen.setdefault(_family(email), [])
        if not email.isascii() and (twin := next((o for o in bucket if read_alike(email, o)), None)) is not None:
            found[email] = twin
        bucket.append(email)
    return found


def _family(email: str) -> str:
    """``email`` with each character replaced by its confusable family's: two addresses that read
    alike have the same (a shared twin joins two characters' families), the converse need not hold."""
    families = _families()
    return "".join(families.get(c, c) for c in normalize_email(email))


@cache
def _families() -> dict[str, str]:
    """Each character of Unicode's confusables table, and each ASCII twin of one, mapped to the
    smallest character of its family: the characters joined, directly or not, by :func:`_twins`."""
    from confusable_homoglyphs.confusables import confusables_data

    parent: dict[str, str] = {}

    def root(c: str) -> str:
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for char in confusables_data:
        for twin in _twins(char):
            a, b = root(char), root(twin)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {c: root(c) for c in list(parent)}


@cache
def _twins(char: str) -> frozenset[str]:
    """``char`` and the printable ASCII characters Unicode lists as confusable with it."""
    from confusable_homoglyphs.confusables import (
        confusables_data,  # its table: for non-ASCII addresses only
    )

    glyphs = (entry["c"] for entry in confusables_data.get(char, ()))
    return frozenset({char, *(g for g in glyphs if len(g) == 1 and g.isascii() and g.isprintable())})
