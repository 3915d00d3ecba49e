"""The ``mesh`` command and the tools that run a mesh on one machine.

- :mod:`meshctl.cli`: the ``mesh`` command line (``main`` is the console script).
- :mod:`meshctl.local_airflow`: start and stop Airflow 3 locally, by process group, and its
  REST client; :mod:`meshctl.airflow_cascade` triggers roots and follows the cascade;
  :mod:`meshctl.pools` creates one Airflow pool per domain.

Neither the framework (``assets/``) nor governance imports this package.
"""

__all__: list[str] = []
