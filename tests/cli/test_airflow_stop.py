"""``LocalAirflow.stop``: each component's process group gets SIGTERM, and the stop ends as soon
as every group is gone, its leaders (children of the process that started them) reaped."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from meshctl.local_airflow import LocalAirflow, _write_json
from meshctl.profiles import Component

#: A component that runs until it is signalled.
SLEEPER = Component("sleeper", (sys.executable, "-c", "import time; time.sleep(600)"))


def test_stopping_components_started_here_ends_when_they_have_exited_not_after_the_grace(tmp_path: Path) -> None:
    airflow = LocalAirflow(tmp_path)
    (airflow.home / "logs").mkdir(parents=True)
    pid = airflow._spawn(SLEEPER, {"PATH": ""})
    _write_json(airflow.pid_file, {"sleeper": pid})
    assert airflow.running() == {"sleeper": pid}
    began = time.monotonic()
    assert airflow.stop(grace=120) == ["sleeper"]
    assert time.monotonic() - began < 60, "stop waited out its grace for a child that had exited (a zombie)"
    assert airflow.running() == {} and not airflow.pid_file.exists()
