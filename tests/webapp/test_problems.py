"""An API error names what is wrong and the fix, never where the mesh lives on the server."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from assets.errors import MeshError
from webapp.problems import problem, public_text

ROOT = Path("/srv/acme/mesh")


def test_a_path_under_the_mesh_root_is_shown_relative_to_it() -> None:
    error = MeshError("manifest.json is not JSON", where=f"{ROOT}/.mesh/regions/us-east/sales/orders/V1/manifest.json",
                      fix=f"run `mesh ops heal` in {ROOT}")
    detail = problem(404, error, ROOT).detail
    assert detail == {"error": "manifest.json is not JSON", "where": ".mesh/regions/us-east/sales/orders/V1/manifest.json",
                      "fix": "run `mesh ops heal` in ."}


def test_any_other_absolute_path_keeps_only_its_last_two_parts() -> None:
    assert public_text("cannot read /var/lib/keys/kek-1.key (denied)", ROOT) == "cannot read …/keys/kek-1.key (denied)"
    assert public_text("no such file '/data'", ROOT) == "no such file '…/data'"


def test_urls_relative_paths_and_fractions_are_left_as_they_are() -> None:
    text = "start it with `mesh up` (http://127.0.0.1:8080/api/v2), read sales/orders or ../x, 1/2 and/or"
    assert public_text(text, ROOT) == text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
       st.text(alphabet="abcxyz/._-", max_size=30))
def test_the_server_root_never_shows(before: str, rest: str) -> None:
    shown = public_text(f"{before}{ROOT}/{rest} {before}", ROOT)
    assert str(ROOT) not in shown and "/srv/acme" not in shown


def test_a_relative_root_is_taken_as_the_working_folder(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # the app's root when neither --root nor MESH_ROOT names one
    text = f"'../../etc' is not a version id, see {tmp_path}/mesh.toml"
    assert public_text(text, Path(".")) == "'../../etc' is not a version id, see mesh.toml"
