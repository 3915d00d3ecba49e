"""The framework's package: its public names, and what importing it costs."""

from __future__ import annotations

import importlib
import subprocess
import sys

import assets


def test_every_public_name_resolves_to_its_module() -> None:
    assert sorted(assets.__all__) == sorted(assets._MODULE_OF)
    for name in assets.__all__:
        assert getattr(assets, name) is getattr(importlib.import_module(assets._MODULE_OF[name]), name)


def test_importing_the_package_imports_neither_polars_nor_pandera() -> None:
    code = "import sys, assets, assets.compiled, assets.airflow.naming; " \
           "print([m for m in ('polars', 'pandera') if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
