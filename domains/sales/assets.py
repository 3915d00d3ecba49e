"""Data products of the sales domain."""

import datetime as dt

import numpy as np
import polars as pl

from assets import AssetContext, asset, daily, rollup, weekly
from domains.sales.contracts import (
    CATEGORIES,
    CHANNELS,
    CURRENCIES,
    STATUSES,
    CustomerOrders,
    DailyOrders,
    DailySales,
    Orders,
    ProductPerformance,
    Products,
    WeeklyOrders,
)

PRODUCTS = 500
#: Local price of one US dollar of list price, per shop currency (the shop's price list).
PRICE_LIST = {"USD": 1.0, "EUR": 0.93, "GBP": 0.80, "JPY": 150.0, "CAD": 1.37, "BRL": 5.1, "AUD": 1.52}
_OWNERS = ["sales-data@acme.example"]


@asset(contract=Products, contract_version="1.0.0", schedule="@daily", visibility="public",
       owners=_OWNERS, freshness="25h", tags={"tier": "silver"})
def products(context: AssetContext) -> pl.DataFrame:
    """The product catalogue, with list prices in US dollars."""
    rng = np.random.default_rng([context.param("seed", 7), 2])
    ids = np.arange(1, PRODUCTS + 1)
    category = np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), PRODUCTS)]
    return pl.DataFrame({
        "product_id": ids,
        "name": [f"{c.title()} item {i}" for c, i in zip(category, ids, strict=True)],
        "category": category,
        "list_price_usd": np.round(rng.lognormal(3.3, 0.9, PRODUCTS).clip(1, 9_999), 2),
    })


@asset(contract=Orders, contract_version="1.1.0", schedule="@hourly", visibility="public",
       owners=_OWNERS, freshness="2h", tags={"tier": "gold"})
def orders(context: AssetContext) -> pl.DataFrame:
    """Every order placed on the web shop, in the currency it was paid in."""
    from domains.customers.assets import customer_count  # the shop draws from the customer base

    n = int(context.param("scale", 100_000))
    rng = np.random.default_rng([context.param("seed", 7), 3])
    currency = np.array(CURRENCIES)[rng.choice(len(CURRENCIES), n, p=[.45, .2, .1, .08, .07, .05, .05])]
    list_price = np.round(rng.lognormal(3.3, 0.9, n).clip(1, 9_999), 2)
    quantity = np.minimum(rng.geometric(0.45, n), 100)
    local = np.vectorize(PRICE_LIST.__getitem__)(currency) if n else np.array([], dtype=float)
    unit_price = np.round(list_price * local, 2)
    return pl.DataFrame({
        "order_id": np.arange(1, n + 1),
        "customer_id": rng.integers(1, customer_count(n) + 1, n),
        "product_id": rng.integers(1, PRODUCTS + 1, n),
        "order_date": pl.Series(rng.integers(0, 365, n)).cast(pl.Int32),
        "quantity": quantity,
        "unit_price": unit_price,
        "amount": np.round(unit_price * quantity, 2),
        "currency": currency,
        "channel": np.array(CHANNELS)[rng.choice(len(CHANNELS), n, p=[.5, .3, .15, .05])],
        "status": np.array(STATUSES)[rng.choice(len(STATUSES), n, p=[.1, .15, .7, .05])],
    }).with_columns(order_date=pl.lit(dt.date(2026, 1, 1)) + pl.duration(days=pl.col("order_date")))


@asset(contract=DailySales, contract_version="1.0.0", visibility="public", owners=_OWNERS, freshness="3h",
       tags={"tier": "gold"}, column_lineage={"order_date": ["orders.order_date"], "currency": ["orders.currency"],
                                               "orders": ["orders.order_id"], "units": ["orders.quantity"],
                                               "gross_amount": ["orders.amount"]})
def daily_sales(orders: pl.LazyFrame) -> pl.LazyFrame:
    """Orders, units and gross amount per day and currency."""
    return (
        orders.group_by("order_date", "currency")
        .agg(orders=pl.len().cast(pl.Int64), units=pl.col("quantity").sum().cast(pl.Int64),
             gross_amount=pl.col("amount").sum().round(2))
        .sort("order_date", "currency")
    )


@asset(contract=CustomerOrders, contract_version="1.0.0", ins={"customers": "customers.customers"},
       visibility="restricted", owners=_OWNERS, freshness="3h", tags={"tier": "gold", "pii": "yes"},
       column_lineage={"customer_id": ["orders.customer_id", "customers.customer_id"], "email": ["customers.email"],
                       "segment": ["customers.segment"], "country": ["customers.country"],
                       "orders": ["orders.order_id"], "units": ["orders.quantity"],
                       "first_order": ["orders.order_date"], "last_order": ["orders.order_date"]})
def customer_orders(orders: pl.LazyFrame, customers: pl.LazyFrame) -> pl.LazyFrame:
    """Each customer's order history, with contact e-mail for service teams."""
    per_customer = orders.group_by("customer_id").agg(
        orders=pl.len().cast(pl.Int64), units=pl.col("quantity").sum().cast(pl.Int64),
        first_order=pl.col("order_date").min(), last_order=pl.col("order_date").max())
    return (
        per_customer.join(customers.select("customer_id", "email", "segment", "country"), on="customer_id")
        .select("customer_id", "email", "segment", "country", "orders", "units", "first_order", "last_order")
        .sort("customer_id")
    )


@asset(contract=ProductPerformance, contract_version="1.0.0", visibility="public", owners=_OWNERS,
       freshness="26h", tags={"tier": "silver"})
def product_performance(orders: pl.LazyFrame, products: pl.LazyFrame) -> pl.LazyFrame:
    """Orders, units, list-price revenue and return rate per product."""
    return (
        orders.join(products.select("product_id", "category", "list_price_usd"), on="product_id")
        .group_by("product_id", "category")
        .agg(orders=pl.len().cast(pl.Int64), units=pl.col("quantity").sum().cast(pl.Int64),
             list_revenue_usd=(pl.col("quantity") * pl.col("list_price_usd")).sum().round(2),
             return_rate=(pl.col("status") == "returned").mean())
        .sort("product_id")
    )


#: The first day of the partitioned example: a few days before the demo's "today".
ORDERS_SINCE = "2026-11-16"


@asset(contract=DailyOrders, contract_version="1.0.0", partitions=daily(start=ORDERS_SINCE), visibility="public",
       owners=_OWNERS, freshness="25h", tags={"tier": "silver"})
def daily_orders(context: AssetContext) -> pl.DataFrame:
    """The web shop's orders of one day (``context.partition``), each day gated and published on its own."""
    day = dt.date.fromisoformat(str(context.partition))
    n = int(context.param("daily_rows", 200))
    rng = np.random.default_rng([context.param("seed", 7), 5, day.toordinal()])
    amount = np.round(rng.lognormal(3.5, 0.8, n).clip(0, 99_999), 2)
    if context.param("bad_day") == str(context.partition):  # demo: `mesh backfill ... --bad-day 2026-11-18`
        amount[0] = -1.0
    return pl.DataFrame({
        "order_id": [f"{day:%Y%m%d}-{i:05d}" for i in range(n)],
        "order_date": [day] * n,
        "customer_id": rng.integers(1, 5_000, n),
        "amount": amount,
        "currency": np.array(CURRENCIES)[rng.integers(0, len(CURRENCIES), n)],
    }, schema_overrides={"order_date": pl.Date})


@asset(contract=WeeklyOrders, contract_version="1.0.0", partitions=weekly(start=ORDERS_SINCE), visibility="public",
       owners=_OWNERS, freshness="25h", tags={"tier": "gold"}, ins={"orders": rollup("sales.daily_orders")})
def weekly_orders(orders: pl.LazyFrame, context: AssetContext) -> pl.LazyFrame:
    """Orders and gross amount per currency of one ISO week, from the days of it published so far."""
    return (
        orders.group_by("currency")
        .agg(orders=pl.len().cast(pl.Int64), days=pl.col("order_date").n_unique().cast(pl.Int64),
             gross_amount=pl.col("amount").sum().round(2))
        .with_columns(week_start=pl.lit(dt.date.fromisoformat(str(context.partition)[:10])))
        .select("week_start", "currency", "orders", "days", "gross_amount")
        .sort("currency")
    )
