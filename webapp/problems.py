"""The body of an API error: the mesh error's what, where and fix, without the server's paths.

A caller of the read API learns which product, version or file is wrong and what to do, never
where the mesh lives on the server: a path under the mesh root is shown relative to it, any
other absolute path by its last two parts.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import HTTPException

from assets.errors import MeshError

_ABSOLUTE = re.compile(r"(?<![\w.~:/-])(?:/[^\s/'\"`:,;()]+)+")


def public_text(text: str, root: Path) -> str:
    """``text`` with every absolute path made relative to ``root``, or cut to its last two parts."""
    for prefix in {str(root), str(root.resolve())}:
        text = text.replace(prefix.rstrip("/") + "/", "").replace(prefix, ".")
    return _ABSOLUTE.sub(lambda m: "…/" + "/".join(m.group(0).split("/")[-2:]).lstrip("/"), text)


def problem(status: int, error: MeshError, root: Path) -> HTTPException:
    """An HTTP error carrying ``error``'s what, where and fix (never a traceback or a server path)."""
    return HTTPException(status, detail={"error": public_text(error.what, root),
                                         "where": public_text(error.where, root),
                                         "fix": public_text(error.fix, root)})
