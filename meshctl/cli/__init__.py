"""The ``mesh`` command line. ``main`` is the console script's entry point.

The command modules import the engine and the governance layer (polars, pandera, SQLAlchemy,
the lineage and Airflow clients) inside the commands that use them, never at the top: the help,
and an argument's error, answer without loading them (``tests/cli/test_startup.py``).
"""

from meshctl.cli.app import app, main

__all__ = ["app", "main"]
