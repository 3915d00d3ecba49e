"""Contracts of the finance domain's data products."""

import datetime as dt

import pandera.polars as pa

CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CAD", "BRL", "AUD"]


class FxRates(pa.DataFrameModel):
    """Daily reference rates. Deliberately strict: a rate outside (0.001, 10] US dollars per
    unit, or a second rate for one currency and day, stops everything priced with it."""

    rate_date: dt.date
    currency: str = pa.Field(isin=CURRENCIES)
    rate_to_usd: float = pa.Field(in_range={"min_value": 0.001, "max_value": 10.0})

    class Config:
        strict = True
        unique = ["rate_date", "currency"]


class Revenue(pa.DataFrameModel):
    order_date: dt.date
    currency: str = pa.Field(isin=CURRENCIES)
    orders: int = pa.Field(ge=1)
    gross_amount: float = pa.Field(ge=0)
    revenue_usd: float = pa.Field(ge=0)

    class Config:
        strict = True
        unique = ["order_date", "currency"]


class MonthlyRevenue(pa.DataFrameModel):
    month: str = pa.Field(str_matches=r"^\d{4}-\d{2}$", unique=True)
    orders: int = pa.Field(ge=1)
    revenue_usd: float = pa.Field(ge=0)

    class Config:
        strict = True
