"""Every failure the framework reports, one class per kind.

Each error carries three things a user needs, as structured fields and in its message:

- ``what`` went wrong,
- ``where`` it happened (an asset key, ``file.py:12``, ``mesh.toml:4:1`` or a key path),
- ``fix``: what to write or run instead, with a "did you mean" suggestion where a name
  was mistyped.

The CLI prints ``str(error)`` as one line and exits non-zero; no traceback for these. An
error of several problems (:meth:`MeshError.listing`) prints one line each, then its fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Self


def printable(text: object, keep: str = "") -> str:
    """``str(text)`` with each character a terminal would act on (ESC, CR, a newline, a lone
    surrogate...) shown as its Python escape (``\\x1b``), except those in ``keep``: a name from a
    file or a user can then neither colour a terminal nor forge a line (of output, or of a
    generated module) that the mesh did not write."""
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in str(text))


class MeshError(Exception):
    """Base of every error the mesh reports to a user.

    ``problems``, when there are several of one kind (every input refused, not only the first),
    holds each; ``heading`` then says what they are, and ``what`` (and the message) is the heading
    followed by one problem a line."""

    def __init__(self, what: str, *, where: str = "", fix: str = "", problems: Sequence[object] = ()) -> None:
        self.problems = tuple(problems)
        self.heading = what
        self.what = what + "".join(f"\n  - {problem}" for problem in self.problems)
        self.where = where
        self.fix = fix
        super().__init__(self._render())

    @classmethod
    def listing(cls, problems: Sequence[str], *, where: str = "", fix: str = "") -> Self:
        """One error for ``problems``: the problem itself when there is one, else their count
        with each one a line (a run-on sentence of them hides where one ends)."""
        if len(problems) == 1:
            return cls(problems[0], where=where, fix=fix)
        return cls(f"{len(problems)} problems:", where=where, fix=fix, problems=problems)

    def each(self) -> tuple[str, ...]:
        """Every problem as a message of its own, with its place and fix (for a report that lists
        problems one a line, as ``mesh check`` does); the error itself when it lists none."""
        if not self.problems:
            return (str(self),)
        return tuple(str(p if isinstance(p, MeshError) else MeshError(str(p), where=self.where, fix=self.fix))
                     for p in self.problems)

    def _render(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.problems:
            return text + (f"\nFix: {self.fix}" if self.fix else "")
        if not self.fix:
            return text
        return f"{text}{'' if text.rstrip().endswith(('.', '!', '?')) else '.'} Fix: {self.fix}"


class ConfigError(MeshError):
    """``mesh.toml`` is missing, malformed, or says something contradictory."""


class DefinitionError(MeshError):
    """An ``@asset`` definition is invalid (missing contract, bad semver, bad cron...)."""


class GraphError(MeshError):
    """The assets do not form a valid graph."""


class UnknownInputError(GraphError):
    """An asset's input names no asset."""


class CycleError(GraphError):
    """The assets' inputs form a cycle."""


class DuplicateAssetError(GraphError):
    """Two asset functions produce the same key."""


class UndeclaredDomainError(GraphError):
    """A package under ``domains/`` is not declared in ``mesh.toml``."""


class QuotaExceededError(GraphError):
    """A domain defines more assets than its ``max_assets`` quota."""


class DomainImportError(GraphError):
    """A domain's code raised while being imported."""


class SelectionError(MeshError):
    """A selection string is malformed or selects nothing."""


class PartitionKeyError(SelectionError):
    """A partition key (or a date bound of a backfill) is malformed or outside an asset's partitions."""


class StorageError(MeshError):
    """Reading or writing a stored version failed."""


class AssetNotMaterializedError(StorageError):
    """An asset has no current version yet."""


class CorruptDataError(StorageError):
    """A stored version's data is missing or does not match its manifest: reading it again will
    not help (unlike an I/O error); it is restored, copied again or rolled back."""


class AssetOutputError(MeshError):
    """An asset function returned something that is not a polars frame."""


class ContractViolation(MeshError):
    """Data failed its contract; nothing was published."""


class AccessError(MeshError):
    """Access was refused by policy: a read, or an operation the actor may not perform."""


def did_you_mean(name: str, candidates: Iterable[str], *, n: int = 3) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidates, or ``""``."""
    matches = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)
    if not matches:
        return ""
    quoted = " or ".join(f"'{m}'" for m in matches)
    return f"Did you mean {quoted}?"
