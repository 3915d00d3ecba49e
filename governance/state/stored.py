"""Reading the JSON columns of the state database: text nobody vouches for once it is stored.

A database may be shared, restored from a backup or edited by hand; a row whose JSON is malformed,
nested deeply enough to exhaust Python's stack, or huge must stop its reader with one line that
names the row and the fix, never a traceback. Every reader of a JSON column goes through
:func:`column_json`, which parses with the hardened :func:`assets.stored_json.load_json`.
"""

from __future__ import annotations

from typing import Any

from assets.stored_json import load_json
from governance.state.database import StateError

#: The most one JSON column may hold: the mesh writes kilobytes (an incident's details, a lineage
#: event, a run's summary); a larger value was not written by the mesh and is refused unparsed.
MAX_COLUMN_BYTES = 16 * 1024 * 1024
#: What to do about a row the mesh did not write.
FIX = ("the row was not written by the mesh: restore the state database from a backup (`mesh dr restore "
       "--as EMAIL`), or delete that row")


def column_json(raw: str | bytes | bytearray | None, *, what: str, where: str) -> Any:
    """``raw``, the JSON a state database column holds, parsed; ``what`` names the value (``the
    details of incident 7``), ``where`` the database. Raises :class:`StateError` for anything
    that is not JSON the mesh wrote: malformed, nested too deeply, or above
    :data:`MAX_COLUMN_BYTES`."""
    if raw is None:
        raise StateError(f"{what} is empty (NULL), not JSON", where=where, fix=FIX)
    if len(raw) > MAX_COLUMN_BYTES:  # a str's characters take at least a byte each
        raise StateError(f"{what} holds more than {MAX_COLUMN_BYTES // 2**20} MB of JSON, more than the mesh writes",
                         where=where, fix=FIX)
    try:
        return load_json(raw)
    except ValueError as exc:
        raise StateError(f"{what} is not JSON the mesh wrote ({str(exc)[:120]})", where=where, fix=FIX) from None
