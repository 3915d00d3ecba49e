"""Runs: every run of every asset, from its start to its outcome, in the state database
(:mod:`governance.runs.records`, kept by :class:`~governance.runs.records.RunRecorder`, the
mesh's run observer), and which worker runs each one and whether it is still alive
(:mod:`governance.runs.workers`).

The composition root wires the recorder into the mesh; operations, alerts and healing read
the records. Nothing is imported here eagerly.
"""

__all__: list[str] = []
