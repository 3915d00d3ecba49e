"""One failed contract check, as the gate, the warnings, lineage and the run observers report it."""

from __future__ import annotations

from dataclasses import dataclass

#: The longest example value a message or report shows; longer ones are cut.
MAX_EXAMPLE_CHARS = 200


def cut(text: str, limit: int = MAX_EXAMPLE_CHARS) -> str:
    """``text``, or its first ``limit`` characters, an ellipsis and its full length."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


@dataclass(frozen=True, slots=True)
class CheckFailure:
    """One failed check: ``column`` is the contract's name for schema-wide checks."""

    column: str
    check: str
    rows: int
    examples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "examples", tuple(cut(e) for e in self.examples))

    def __str__(self) -> str:
        where = f"{self.rows} row(s)" if self.rows else "schema"
        shown = f" e.g. {', '.join(self.examples)}" if self.examples else ""
        return f"{self.column}: {self.check} failed on {where}{shown}"
