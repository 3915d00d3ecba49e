"""An arrived file is hashed and parsed from the same bytes, read in one open: a file renamed
over it, a symbolic link put in its place or an append between listing and reading is refused,
never published under another file's checksum."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from assets.arrivals import read_newest
from assets.drops import ChangedWhileRead, Drop, Seen, complete_files, fetch_newest, read_listed
from tests.assets.test_observe import GOOD, HEADER, _Leads

OTHER = HEADER + "7,x@mail.example,web,2026-11-22,5\n8,y@mail.example,web,2026-11-23,6\n9,z@mail.example,web,2026-11-24,7\n"


@pytest.fixture
def drop(tmp_path: Path) -> Drop:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "leads.csv").write_text(GOOD)
    return Drop(f"{folder}/*.csv", settle=0)


def _listed(drop: Drop, root: Path) -> tuple[Path, Seen]:
    [seen] = complete_files(drop, root, now=9e9)
    return drop.folder_at(root) / seen.name, seen


def test_a_file_renamed_over_the_listed_one_is_refused(drop: Drop, tmp_path: Path) -> None:
    path, seen = _listed(drop, tmp_path)
    swapped = path.with_name(".incoming.tmp")
    swapped.write_text(GOOD.replace("a@mail", "q@mail"))  # the same size, other bytes
    os.replace(swapped, path)
    with pytest.raises(ChangedWhileRead, match="replaced or modified since it was listed"):
        read_listed(drop, tmp_path, seen)


def test_a_symbolic_link_renamed_over_the_listed_file_is_not_followed(drop: Drop, tmp_path: Path) -> None:
    path, seen = _listed(drop, tmp_path)
    secret = tmp_path / "secret.csv"
    secret.write_text(GOOD)  # even the same bytes: a link is no arrival
    link = path.with_name(".link.tmp")
    link.symlink_to(secret)
    os.replace(link, path)
    with pytest.raises(ChangedWhileRead, match="symbolic link"):
        read_listed(drop, tmp_path, seen)


def test_a_file_appended_to_after_it_was_listed_is_refused(drop: Drop, tmp_path: Path) -> None:
    path, seen = _listed(drop, tmp_path)
    stamp = path.stat()
    with path.open("a") as fh:
        fh.write("3,c@mail.example,web,2026-11-22,5\n")
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # even with its modification time put back
    with pytest.raises(ChangedWhileRead, match="since it was listed"):
        read_listed(drop, tmp_path, seen)


def test_the_recorded_checksum_is_of_the_rows_published(drop: Drop, tmp_path: Path) -> None:
    path = drop.folder_at(tmp_path) / "leads.csv"
    fetched = fetch_newest(drop, tmp_path, observed=None, now=9e9)
    assert fetched is not None and fetched.data == GOOD.encode()
    assert fetched.arrival.sha256 == hashlib.sha256(fetched.data).hexdigest() and fetched.arrival.size == len(GOOD)
    os.replace(path, path.with_name("old.csv.part"))  # a newer file arrives by rename
    newer = path.with_name(".new.tmp")
    newer.write_text(OTHER)
    os.replace(newer, path)
    found = read_newest("marketing.web_leads", drop, _Leads.contract, tmp_path, None, now=9e9)
    assert found is not None
    assert found.arrival.sha256 == hashlib.sha256(OTHER.encode()).hexdigest() and found.arrival.size == len(OTHER)
    assert found.frame.collect()["lead_id"].to_list() == [7, 8, 9]
