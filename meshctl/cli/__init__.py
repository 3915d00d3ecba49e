"""The ``mesh`` command line. ``main`` is the console script's entry point."""

from meshctl.cli.app import app, main

__all__ = ["app", "main"]
