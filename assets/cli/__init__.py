"""The ``mesh`` command line. ``main`` is the console script's entry point."""

from assets.cli.app import app, main

__all__ = ["app", "main"]
