"""Contracts of the sales domain's data products."""

import datetime as dt

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CAD", "BRL", "AUD"]
CHANNELS = ["web", "mobile", "store", "partner"]
STATUSES = ["placed", "shipped", "delivered", "returned"]
CATEGORIES = ["books", "electronics", "garden", "home", "toys", "sports"]


class Products(pa.DataFrameModel):
    product_id: int = pa.Field(unique=True, ge=1, metadata={"primary_key": True})
    name: str = pa.Field(str_length={"min_value": 1, "max_value": 80})
    category: str = pa.Field(isin=CATEGORIES)
    list_price_usd: float = pa.Field(gt=0, le=10_000)

    class Config:
        strict = True


#: Orders above this amount are reviewed by finance: they publish, with a warning.
REVIEW_THRESHOLD = 5_000.0


class Orders(pa.DataFrameModel):
    order_id: int = pa.Field(unique=True, ge=1)
    customer_id: int = pa.Field(ge=1)
    product_id: int = pa.Field(ge=1)
    order_date: dt.date = pa.Field(ge=dt.date(2026, 1, 1), le=dt.date(2026, 12, 31))
    quantity: int = pa.Field(in_range={"min_value": 1, "max_value": 100})
    unit_price: float = pa.Field(gt=0)
    amount: float = pa.Field(ge=0)
    currency: str = pa.Field(isin=CURRENCIES)
    channel: str = pa.Field(isin=CHANNELS)
    status: str = pa.Field(isin=STATUSES)

    @pa.check("amount", name="below_review_threshold", raise_warning=True)
    def below_review_threshold(cls, data: PolarsData) -> pl.LazyFrame:
        """A warning, never a block: finance reviews the orders above the threshold."""
        return data.lazyframe.select(pl.col(data.key) <= REVIEW_THRESHOLD)

    class Config:
        strict = True


class DailySales(pa.DataFrameModel):
    order_date: dt.date
    currency: str = pa.Field(isin=CURRENCIES)
    orders: int = pa.Field(ge=1)
    units: int = pa.Field(ge=1)
    gross_amount: float = pa.Field(ge=0)

    class Config:
        strict = True
        unique = ["order_date", "currency"]


class CustomerOrders(pa.DataFrameModel):
    customer_id: int = pa.Field(unique=True, ge=1)
    email: str = pa.Field(metadata={"classification": "pii"})
    segment: str
    country: str
    orders: int = pa.Field(ge=1)
    units: int = pa.Field(ge=1)
    first_order: dt.date
    last_order: dt.date

    class Config:
        strict = True


class ProductPerformance(pa.DataFrameModel):
    product_id: int = pa.Field(unique=True, ge=1)
    category: str = pa.Field(isin=CATEGORIES)
    orders: int = pa.Field(ge=1)
    units: int = pa.Field(ge=1)
    list_revenue_usd: float = pa.Field(ge=0)
    return_rate: float = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0})

    class Config:
        strict = True


class DailyOrders(pa.DataFrameModel):
    """One day's orders (a partition of ``sales.daily_orders``: each day is gated on its own)."""

    order_id: str = pa.Field(unique=True, str_length={"min_value": 12, "max_value": 16})
    order_date: dt.date
    customer_id: int = pa.Field(ge=1)
    amount: float = pa.Field(ge=0, le=100_000)
    currency: str = pa.Field(isin=CURRENCIES)

    class Config:
        strict = True


class WeeklyOrders(pa.DataFrameModel):
    """One ISO week's orders per currency, rolled up from its days published so far."""

    week_start: dt.date
    currency: str = pa.Field(isin=CURRENCIES)
    orders: int = pa.Field(ge=1)
    days: int = pa.Field(in_range={"min_value": 1, "max_value": 7})
    gross_amount: float = pa.Field(ge=0)

    class Config:
        strict = True
        unique = ["week_start", "currency"]
