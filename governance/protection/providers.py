"""Which key provider holds the mesh's key-encryption keys, as ``[keys] provider`` says.

``local`` is the embedded default (owner-only files under ``.mesh/keys``). Any other provider
is a plug-in named ``package.module:factory``: the factory is called with the policy and the
mesh's state folder and returns an object with the :class:`KeyProvider` methods (a KMS client).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import cast

from assets.errors import ConfigError
from governance.keys import LocalKeyStore
from governance.policy import MeshPolicy
from governance.protection.keys import KeyProvider, LocalKeyProvider


def key_provider(policy: MeshPolicy, state_dir: Path) -> KeyProvider:
    """The key provider ``[keys]`` chooses for the mesh whose state folder is ``state_dir``."""
    name = policy.keys.provider
    if name == "local":
        return LocalKeyProvider(LocalKeyStore(state_dir / "keys"))
    module_name, _, factory_name = name.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"key provider '{name}' cannot be loaded: {exc}", where="[keys].provider",
                          fix="install the package that provides it, or use provider = \"local\"") from None
    if not (inspect.isclass(factory) or inspect.isfunction(factory)):  # print, os.system: not a plug-in
        raise ConfigError(f"key provider '{name}' is a {type(factory).__name__}, not a class or function of a "
                          "plug-in", where="[keys].provider",
                          fix="name the factory of a key provider plug-in (package.module:factory), or use "
                              "provider = \"local\"")
    try:
        provider = cast(Callable[[MeshPolicy, Path], KeyProvider], factory)(policy, state_dir)
    except Exception as exc:  # a plug-in's own failure, reported against the setting
        raise ConfigError(f"key provider '{name}' failed to start: {type(exc).__name__}: {exc}",
                          where="[keys].provider", fix="fix the plug-in's settings, or use provider = \"local\"") \
            from None
    missing = [m for m in ("active_kek_id", "kek_ids", "wrap", "unwrap", "rotate", "retire") if not callable(getattr(provider, m, None))]
    if missing:
        raise ConfigError(f"key provider '{name}' lacks {', '.join(missing)}", where="[keys].provider",
                          fix="implement the KeyProvider methods of governance.protection.keys")
    return provider
