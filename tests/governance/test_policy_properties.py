"""Property: no mutation of the example ``mesh.toml`` makes loading it raise anything but a
:class:`MeshError` (one line with the key path and the fix), never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from assets.errors import MeshError
from governance.policy import load_policy
from tests.conftest import REPO

EXAMPLE = (REPO / "mesh.toml").read_bytes()
LINES = EXAMPLE.decode().splitlines()
#: The lines that assign a value: the mutations replace their values and keys.
ASSIGNMENTS = [i for i, line in enumerate(LINES) if " = " in line and not line.startswith("#")]

toml_values = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).lower()),
    st.booleans().map(lambda b: str(b).lower()),
    st.text(max_size=40).map(lambda s: '"' + s.encode("unicode_escape").decode().replace('"', '\\"') + '"'),
    st.sampled_from(["1979-05-27", "1979-05-27T07:32:00Z", "07:32:00", "[]", "{}", '[""]', "[1, 2]",
                     '{ a = 1 }', '{ sales = "x" }', '{ sales = -1 }', '"\\u0000"', "[" * 300 + "]" * 300,
                     '["a@b.c", 1]', "-1", "0", '"..//x"']),
)
keys = st.one_of(st.sampled_from(["id", "domains", "storage", "expires", "owners", "retired", "members",
                                  "signatures", "file", "provider", "x"]),
                 st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["value", "key", "delete", "insert", "bytes"]))
        i = draw(st.sampled_from(ASSIGNMENTS))
        if " = " not in lines[i]:
            continue
        if kind == "value":
            lines[i] = lines[i].split(" = ", 1)[0] + " = " + draw(toml_values)
        elif kind == "key":
            lines[i] = draw(keys) + " = " + lines[i].split(" = ", 1)[1]
        elif kind == "delete":
            lines[i] = ""
        elif kind == "insert":
            lines.insert(i, f"{draw(keys)} = {draw(toml_values)}")
    data = "\n".join(lines).encode()
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at + draw(st.integers(0, 8)):]
    return data


@settings(max_examples=200, deadline=None)
@given(data=mutated())
def test_a_mutated_mesh_toml_is_refused_with_one_line_or_loads(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mesh.toml"
        path.write_bytes(data)
        try:
            load_policy(path)
        except MeshError as exc:
            assert exc.where and (exc.fix or "problem(s)" in str(exc)), str(exc)
