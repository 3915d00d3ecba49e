"""Observing sources in-process: each observed source of a selection, then what its news feeds.

The in-process twin of Airflow's watchers (:mod:`assets.airflow.drop_trigger`): the sources
run through the engine (:func:`assets.engine.materialize`, hence the step every asset runs);
the assets downstream of each source that published run next, in the same run, as its Asset
event would schedule them on Airflow. A source with nothing new publishes nothing, and nothing
downstream of it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assets.engine import ProgressFn, materialize
from assets.errors import SelectionError
from assets.events import UpdateHandler
from assets.mesh import Mesh
from assets.results import RunResult
from assets.run_id import new_run_id


def sources_of(mesh: Mesh, selection: str = "*") -> list[str]:
    """The observed sources named by ``selection``, in order. Refuses a selection with none."""
    keys = [k for k in mesh.select(selection) if mesh.graph[k].spec.drop is not None]
    if not keys:
        raise SelectionError(f"'{selection}' names no observed source", where="selection",
                             fix="name an asset declared with @source_asset, or '*' for all of them")
    return keys


def observe(selection: str = "*", *, mesh: Mesh, params: Mapping[str, Any] | None = None,
            on_result: ProgressFn | None = None, run_id: str | None = None,
            handlers: Sequence[UpdateHandler] | None = None) -> RunResult:
    """Observe the sources of ``selection``; then run, in the same run, the assets downstream
    of those that published a new version. One result per asset that was looked at."""
    run_id = run_id or new_run_id()
    sources = sources_of(mesh, selection)
    first = materialize(" ".join(sources), mesh=mesh, params=params, on_result=on_result, run_id=run_id,
                        handlers=handlers)
    news = [k for k in sources if first.results[k].published]
    fed = [k for k in mesh.graph.sorted(mesh.graph.descendants(*news)) if k not in sources] if news else []
    if not fed:
        return first
    second = materialize(" ".join(fed), mesh=mesh, params=params, on_result=on_result, run_id=run_id,
                         handlers=handlers)
    return RunResult(run_id=run_id, results={**first.results, **second.results})
