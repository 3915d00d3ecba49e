"""``mesh ops simulate``: the proof on a simulated month.

- :mod:`.faults`: the faults and their rates (:class:`FaultRates`), injected from one seed;
- :mod:`.schedule`: the ticks of the mesh's schedules;
- :mod:`.sandbox`: the throwaway, self-contained copy of the mesh a simulation runs in;
- :mod:`.run`: one simulation (:func:`simulate`) on a manual clock, with the real engine, gate,
  storage, replication, monitor, alerts and, if on, self-healing;
- :mod:`.figures`: its figures (the operating report's) and how well breaches were predicted.
"""

from __future__ import annotations

from governance.ops.simulation.faults import FaultRates
from governance.ops.simulation.figures import (
           PredictionScore,
           figures,
           score_predictions,
)
from governance.ops.simulation.run import Outcome, Settings, simulate, start_of_next_day

__all__ = ["FaultRates", "Outcome", "PredictionScore", "Settings", "figures", "score_predictions", "simulate",
           "start_of_next_day"]
