"""Property: whatever arguments the ``mesh`` commands get, they end in output and an exit code,
never a traceback. Only commands that are quick to refuse or answer are driven."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from meshctl.cli import app
from tests.conftest import copy_example_mesh

runner = CliRunner()
words = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "-1", "0", "1", "99999999999999999999", "2030-13-45", "2027-06-30", "*", "(", ")",
                     "not", "sales.orders", "customers.customers", "domain:sales", "/missing/x.csv", "x.parquet",
                     "a" * 300, "\x00", "tag:", "+sales.orders+", "g-00000000", "1e9", "nan"]),
)
people = st.sampled_from(["analyst@acme.example", "council@acme.example", "nobody@acme.example", ""])


@st.composite
def command(draw: st.DrawFn) -> list[str]:
    w = lambda: draw(words)  # noqa: E731
    return draw(st.sampled_from([
        ["list", w()],
        ["read", w(), "--limit", w(), "--as", draw(people)],
        ["read", "finance.monthly_revenue", "--version", w(), "--out", w(), "--as", draw(people)],
        ["materialize", "no_such.asset", "--workers", w(), "--scale", w(), "--seed", w()],
        ["history", w(), "--limit", w()],
        ["history", "sales.daily_orders", "--partition", w()],
        ["rollback", draw(st.sampled_from(["sales.daily_orders", "sales.products"])), "--partition", w(),
         "--to", w(), "--as", draw(people)],
        ["materialize", "--stale", w(), "--partition", w()],
        ["lineage", w(), "--impact"],
        ["contract", "diff", w()],
        ["audit", "query", "--since", w(), "--limit", w(), "--as", draw(people)],
        ["access", "approve", w(), "--as", draw(people)],
        ["access", "revoke", w(), "--as", draw(people)],
        ["access", "request", w(), "--consumer", w(), "--purpose", w(), "--expires", w(), "--as", draw(people)],
        ["domain", "create", w(), "--owner", w(), "--as", "analyst@acme.example"],
        ["keys", "retire", w(), "--as", "analyst@acme.example"],
        [w(), w()],
    ]))


@pytest.fixture(scope="module")
def mesh_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example_mesh(tmp_path_factory.mktemp("arguments"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=command())
def test_generated_arguments_never_give_a_traceback(mesh_root: Path, args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--root", str(mesh_root)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert "Traceback" not in result.output
