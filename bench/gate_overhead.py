"""Gate overhead: the pandera contract gate against the same rules as raw polars expressions.

The data is ``sales.orders`` of the example mesh at 5M rows, gated by its ``Orders`` contract
(10 columns: dtypes, nullability, uniqueness, ranges and sets). The baseline computes the
same rules in one polars ``select`` that counts the rows failing each. Target: at most 1.5x.
The same on the first 2,000 rows, the gate's fixed cost per frame (no target), medians of 200.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from assets import AssetContext, run_gate
from bench._timing import measure, report

ROWS = 5_000_000
SMALL_ROWS = 2_000


def _orders() -> tuple[type, pl.DataFrame]:
    from domains.sales.assets import orders
    from domains.sales.contracts import Orders

    frame = orders.fn(context=AssetContext(key="sales.orders", run_id="bench", params={"scale": ROWS}))
    return Orders, frame


def _raw_rules(frame: pl.DataFrame) -> dict[str, int]:
    """The Orders contract written by hand: count the rows failing each rule."""
    expected = {"order_id": pl.Int64, "customer_id": pl.Int64, "product_id": pl.Int64, "order_date": pl.Date,
                "quantity": pl.Int64, "unit_price": pl.Float64, "amount": pl.Float64, "currency": pl.String,
                "channel": pl.String, "status": pl.String}
    if dict(frame.schema) != expected:
        raise AssertionError("schema mismatch")
    c = pl.col
    counts = frame.select(
        *[c(name).is_null().sum().alias(f"{name}_not_null") for name in expected],
        c("order_id").is_duplicated().sum().alias("order_id_unique"),
        (c("order_id") < 1).sum().alias("order_id_ge"),
        (c("customer_id") < 1).sum().alias("customer_id_ge"),
        (c("product_id") < 1).sum().alias("product_id_ge"),
        (c("order_date") < dt.date(2026, 1, 1)).sum().alias("order_date_ge"),
        (c("order_date") > dt.date(2026, 12, 31)).sum().alias("order_date_le"),
        (~c("quantity").is_between(1, 100)).sum().alias("quantity_range"),
        (c("unit_price") <= 0).sum().alias("unit_price_gt"),
        (c("amount") < 0).sum().alias("amount_ge"),
        (~c("currency").is_in(["USD", "EUR", "GBP", "JPY", "CAD", "BRL", "AUD"])).sum().alias("currency_isin"),
        (~c("channel").is_in(["web", "mobile", "store", "partner"])).sum().alias("channel_isin"),
        (~c("status").is_in(["placed", "shipped", "delivered", "returned"])).sum().alias("status_isin"),
    )
    return counts.row(0, named=True)


def main() -> None:
    contract, frame = _orders()
    assert run_gate(contract, frame).passed and not any(_raw_rules(frame).values())
    gate = measure(lambda: run_gate(contract, frame), repeat=7)
    raw = measure(lambda: _raw_rules(frame), repeat=7)
    report(f"pandera gate, Orders contract, {ROWS:,} rows", gate, raw, target=1.5, baseline_name="raw polars rules")
    small = frame.head(SMALL_ROWS)
    gate = measure(lambda: run_gate(contract, small), repeat=200)
    raw = measure(lambda: _raw_rules(small), repeat=200)
    report(f"pandera gate, Orders contract, {SMALL_ROWS:,} rows (its fixed cost)", gate, raw,
           baseline_name="raw polars rules")


if __name__ == "__main__":
    main()
