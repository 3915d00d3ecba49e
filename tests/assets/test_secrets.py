"""Per-domain secrets: a domain reads its own, never another's, and errors never show a value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assets import Status, materialize
from governance.wiring import load_mesh


def test_an_asset_reads_only_its_own_domains_secrets(fixture_mesh: Callable[[str], Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_ALPHA__API_TOKEN", "alpha-secret-123")
    monkeypatch.setenv("AIRFLOW_VAR_BETA__API_TOKEN", "beta-secret-456")
    monkeypatch.setenv("AIRFLOW_CONN_ALPHA__WAREHOUSE", "postgresql://u:p@db.alpha.example/warehouse")
    mesh = load_mesh(fixture_mesh("secrets"))
    result = materialize("*", mesh=mesh)
    assert result["alpha.uses_own_secret"].ok
    assert mesh.store().scan("alpha.uses_own_secret").collect()["n"].to_list() == [len("alpha-secret-123")]
    assert result["alpha.uses_own_connection"].ok
    reach = result["alpha.reaches_for_another_domain"]
    assert reach.status is Status.ERROR and "is not a secret name of domain 'alpha'" in (reach.error or "")
    missing = result["alpha.missing_secret"]
    assert missing.status is Status.ERROR and "AIRFLOW_VAR_ALPHA__NOT_SET" in (missing.error or "")
    for r in result.results.values():
        assert "secret-123" not in (r.error or "") and "secret-456" not in (r.error or "")
