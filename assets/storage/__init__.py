"""Versioned asset storage on fsspec roots: atomic publish, manifests, time travel."""

from assets.storage.filesystem import StorageRoot
from assets.storage.manifest import Manifest
from assets.storage.version_store import (
    PublishRequest,
    StagedVersion,
    VersionStore,
    new_version,
)

__all__ = ["Manifest", "PublishRequest", "StagedVersion", "StorageRoot", "VersionStore", "new_version"]
