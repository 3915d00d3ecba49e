"""`mesh demo`'s set-up gives the council's first approval of the example's trust, never a later change."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.policy import load_policy
from governance.wiring import standing_of
from meshctl.cli.app import _set_up_example
from tests.conftest import copy_example_mesh


def _status(root: Path) -> str:
    return standing_of(load_policy(root / "mesh.toml")).status


def test_the_first_set_up_approves_the_examples_trust(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh", approved=False)
    assert _status(root) == "unapproved"

    _set_up_example(root)

    assert _status(root) == "approved"


def test_a_change_after_the_councils_approval_stays_pending(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    text = (root / "mesh.toml").read_text()
    (root / "mesh.toml").write_text(text.replace('members = ["analyst@acme.example"]',
                                                 'members = ["analyst@acme.example", "council@acme.example"]'))
    assert _status(root) == "pending"

    _set_up_example(root)

    assert _status(root) == "pending"  # the demo's held council key did not sign someone's edit
    out = " ".join(capsys.readouterr().out.split())
    assert "changed since the council approved them" in out
    assert "roles.analyst" in out or "analyst" in out
    assert "mesh policy approve --as EMAIL" in out
