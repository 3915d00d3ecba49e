"""Data products of the customers domain."""

import datetime as dt

import numpy as np
import polars as pl

from assets import AssetContext, asset
from domains.customers.contracts import COUNTRIES, SEGMENTS, Customers, CustomerSegments

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Linus",
          "Radia", "Tim", "Sophie", "Guido", "Hedy", "John", "Katherine", "Dennis", "Mary", "Niklaus"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton",
         "Torvalds", "Perlman", "Berners-Lee", "Wilson", "van Rossum", "Lamarr", "Backus", "Johnson",
         "Ritchie", "Shaw", "Wirth"]


def customer_count(scale: int) -> int:
    """Customers in a mesh of ``scale`` orders: one per ten orders, at least a thousand."""
    return max(1_000, scale // 10)


@asset(contract=Customers, contract_version="1.0.0", schedule="@daily", visibility="restricted",
       owners=["customers-data@acme.example"], freshness="25h", tags={"tier": "gold", "pii": "yes"})
def customers(context: AssetContext) -> pl.DataFrame:
    """Every registered customer, with contact details (PII) and segment."""
    n = customer_count(context.param("scale", 100_000))
    rng = np.random.default_rng([context.param("seed", 7), 1])
    first = np.array(_FIRST)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST)[rng.integers(0, len(_LAST), n)]
    ids = np.arange(1, n + 1)
    return pl.DataFrame({
        "customer_id": ids,
        "first": first,
        "last": last,
        "country": np.array(COUNTRIES)[rng.choice(len(COUNTRIES), n, p=[.4, .08, .1, .1, .08, .1, .07, .07])],
        "segment": np.array(SEGMENTS)[rng.choice(len(SEGMENTS), n, p=[.7, .22, .08])],
        "days": rng.integers(0, 4000, n),
    }).select(
        "customer_id",
        email=(pl.col("first") + "." + pl.col("last").str.replace_all(r"[\s-]", "") + "."
               + pl.col("customer_id").cast(pl.String) + "@example.com").str.to_lowercase(),
        full_name=pl.col("first") + " " + pl.col("last"),
        country=pl.col("country"),
        segment=pl.col("segment"),
        signup_date=pl.lit(dt.date(2015, 1, 1)) + pl.duration(days=pl.col("days")),
    )


@asset(contract=CustomerSegments, contract_version="1.0.0", visibility="public",
       owners=["customers-data@acme.example"], freshness="26h", tags={"tier": "silver"})
def customer_segments(customers: pl.LazyFrame) -> pl.LazyFrame:
    """How customers split by segment and country."""
    return (
        customers.group_by("segment", "country")
        .agg(customers=pl.len().cast(pl.Int64))
        .with_columns(share=pl.col("customers") / pl.col("customers").sum())
        .sort("segment", "country")
    )
