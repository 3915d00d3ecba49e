"""Signals are validated when made, and name their incident."""

from __future__ import annotations

import datetime as dt

import pytest

from governance.ops import Recovery, Signal

AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_a_signal_and_its_recovery_name_the_same_incident() -> None:
    signal = Signal(kind="run_failed", subject="sales.orders", domain="sales", severity="critical",
                    summary="sales.orders failed", at=AT)
    assert signal.incident_key == Recovery(kind="run_failed", subject="sales.orders", at=AT,
                                           summary="sales.orders published").incident_key == "run_failed:sales.orders"


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "on_fire"}, "unknown signal kind"),
    ({"severity": "meh"}, "unknown severity"),
    ({"subject": ""}, "names its subject"),
    ({"at": AT.replace(tzinfo=None)}, "timezone-aware"),
])
def test_a_bad_signal_is_refused_naming_what_is_wrong(change: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"kind": "run_failed", "subject": "sales.orders", "domain": "sales",
                                 "severity": "critical", "summary": "failed", "at": AT} | change
    with pytest.raises(ValueError, match=message):
        Signal(**fields)  # type: ignore[arg-type]
