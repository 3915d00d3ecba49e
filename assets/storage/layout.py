"""Names in a storage root: the files of a version, the pointer, the staging folder, version ids.

::

    <domain>/<asset>/[<partition>/]<version>/data.parquet
    <domain>/<asset>/[<partition>/]<version>/manifest.json     written last: makes it a version
    <domain>/<asset>/[<partition>/]CURRENT                     {"version": "<version>"}
    <domain>/<asset>/[<partition>/].staging/<id>/              local folders: versions being written
    <domain>/<asset>/[<partition>/].staging/<id>               object stores: an empty mark of a
                                                               version being written in <version>/

``<id>`` is ``<version>-<random>-<host>.<pid>`` (:func:`assets.storage.staging.staging_name`).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

DATA_FILE = "data.parquet"
MANIFEST_FILE = "manifest.json"
CURRENT_FILE = "CURRENT"
REPLICA_LOCK = ".replica.lock"
STAGING = ".staging"
#: What :func:`new_version` makes.
VERSION_NAME = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{6}")


def new_version(now: dt.datetime | None = None) -> str:
    """A version id that sorts by time of creation: ``20261125T120000123456Z-1a2b3c``."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def asset_dir(key: str, partition: str | None) -> str:
    """The folder of an asset's versions (of one partition), relative to the root."""
    domain, name = key.split(".", 1)
    return f"{domain}/{name}/{partition}" if partition else f"{domain}/{name}"
