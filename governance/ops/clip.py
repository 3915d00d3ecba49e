"""One line of an error, cut to fit a table cell or a report without cutting a word in two."""

from __future__ import annotations

ELLIPSIS = "…"


def clip(text: str, width: int) -> str:
    """The first line of ``text`` that is not blank, at most ``width`` characters: cut after the last whole word
    that fits and ended with ``…``; a word longer than half the width (a path, an id) is cut
    inside instead, so that most of the line is kept."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    if len(line) <= width:
        return line
    if width <= len(ELLIPSIS):
        return line[:max(width, 0)]
    room = line[: width - len(ELLIPSIS)]
    space = room.rfind(" ")
    kept = room[:space] if space >= width // 2 else room
    return kept.rstrip(" ,;:") + ELLIPSIS
