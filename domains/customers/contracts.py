"""Contracts of the customers domain's data products."""

import datetime as dt

import pandera.polars as pa

COUNTRIES = ["US", "CA", "GB", "DE", "FR", "JP", "BR", "AU"]
SEGMENTS = ["consumer", "smb", "enterprise"]


class Customers(pa.DataFrameModel):
    customer_id: int = pa.Field(unique=True, ge=1, metadata={"primary_key": True})
    email: str = pa.Field(str_matches=r"^[^@\s]+@[^@\s]+\.[a-z]+$", metadata={"classification": "pii"})
    full_name: str = pa.Field(str_length={"min_value": 1, "max_value": 120},
                              metadata={"classification": "restricted"})
    country: str = pa.Field(isin=COUNTRIES)
    segment: str = pa.Field(isin=SEGMENTS)
    signup_date: dt.date = pa.Field(ge=dt.date(2015, 1, 1))

    class Config:
        strict = True


class CustomerSegments(pa.DataFrameModel):
    segment: str = pa.Field(isin=SEGMENTS)
    country: str = pa.Field(isin=COUNTRIES)
    customers: int = pa.Field(ge=1)
    share: float = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0})

    class Config:
        strict = True
        unique = ["segment", "country"]
