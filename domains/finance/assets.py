"""Data products of the finance domain."""

import datetime as dt

import numpy as np
import polars as pl

from assets import AssetContext, asset
from domains.finance.contracts import CURRENCIES, FxRates, MonthlyRevenue, Revenue

#: Reference US dollars per unit on 2026-01-01; daily rates drift around them.
REFERENCE_RATES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.26, "JPY": 0.0067, "CAD": 0.73, "BRL": 0.2, "AUD": 0.66}
_OWNERS = ["finance-data@acme.example"]


@asset(contract=FxRates, contract_version="1.0.0", schedule="@daily", visibility="public",
       owners=_OWNERS, freshness="25h", tags={"tier": "gold"})
def fx_rates(context: AssetContext) -> pl.DataFrame:
    """Daily reference rates to US dollars for every shop currency in 2026.

    With the run parameter ``inject_bad_rows`` a feed glitch is simulated: stale duplicate
    rows with a zero rate, which the contract must stop.
    """
    rng = np.random.default_rng([context.param("seed", 7), 4])
    days = 365
    frames = []
    for currency in CURRENCIES:
        drift = 1.0 if currency == "USD" else np.exp(np.cumsum(rng.normal(0, 0.003, days)))
        frames.append(pl.DataFrame({
            "rate_date": pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 12, 31), eager=True),
            "currency": [currency] * days,
            "rate_to_usd": np.round(REFERENCE_RATES[currency] * drift * np.ones(days), 6),
        }))
    rates = pl.concat(frames)
    if context.param("inject_bad_rows", False):
        glitch = rates.filter(pl.col("currency") == "EUR").head(3).with_columns(rate_to_usd=pl.lit(0.0))
        rates = pl.concat([rates, glitch])
    return rates


@asset(contract=Revenue, contract_version="1.0.0", ins={"orders": "sales.orders"}, visibility="public",
       owners=_OWNERS, freshness="3h", tags={"tier": "gold"},
       column_lineage={"order_date": ["orders.order_date"], "currency": ["orders.currency"],
                       "orders": ["orders.order_id"], "gross_amount": ["orders.amount"],
                       "revenue_usd": ["orders.amount", "fx_rates.rate_to_usd"]})
def revenue(orders: pl.LazyFrame, fx_rates: pl.LazyFrame) -> pl.LazyFrame:
    """Revenue per day and currency, converted to US dollars at that day's rate."""
    return (
        orders.filter(pl.col("status") != "returned")
        .group_by("order_date", "currency")
        .agg(orders=pl.len().cast(pl.Int64), gross_amount=pl.col("amount").sum())
        .join(fx_rates, left_on=["order_date", "currency"], right_on=["rate_date", "currency"], how="inner")
        .select("order_date", "currency", "orders", gross_amount=pl.col("gross_amount").round(2),
                revenue_usd=(pl.col("gross_amount") * pl.col("rate_to_usd")).round(2))
        .sort("order_date", "currency")
    )


@asset(contract=MonthlyRevenue, contract_version="1.0.0", visibility="public", owners=_OWNERS, freshness="1d",
       tags={"tier": "gold"}, column_lineage={"month": ["revenue.order_date"], "orders": ["revenue.orders"],
                                               "revenue_usd": ["revenue.revenue_usd"]})
def monthly_revenue(revenue: pl.LazyFrame) -> pl.LazyFrame:
    """Revenue in US dollars per calendar month, for the finance close."""
    return (
        revenue.group_by(month=pl.col("order_date").dt.strftime("%Y-%m"))
        .agg(orders=pl.col("orders").sum().cast(pl.Int64), revenue_usd=pl.col("revenue_usd").sum().round(2))
        .sort("month")
    )
