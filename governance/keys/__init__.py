"""Keys of the mesh behind one small provider interface (a local key file by default)."""

from governance.keys.local import KeyError_, LocalKeyStore, public_key_id

__all__ = ["KeyError_", "LocalKeyStore", "public_key_id"]
