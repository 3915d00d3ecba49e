"""Contracts of the marketing domain's data products."""

import datetime as dt

import pandera.polars as pa

CHANNELS = ["web", "mobile", "store", "partner"]


class Campaigns(pa.DataFrameModel):
    campaign_id: int = pa.Field(unique=True, ge=1)
    name: str = pa.Field(str_length={"min_value": 3, "max_value": 60})
    channel: str = pa.Field(isin=CHANNELS)
    start_date: dt.date = pa.Field(ge=dt.date(2026, 1, 1))
    end_date: dt.date = pa.Field(le=dt.date(2026, 12, 31))
    budget_usd: float = pa.Field(gt=0, le=1_000_000)

    class Config:
        strict = True


class CampaignPerformance(pa.DataFrameModel):
    campaign_id: int = pa.Field(unique=True, ge=1)
    channel: str = pa.Field(isin=CHANNELS)
    orders: int = pa.Field(ge=0)
    revenue_usd: float = pa.Field(ge=0)
    budget_usd: float = pa.Field(gt=0)
    roas: float = pa.Field(ge=0)

    class Config:
        strict = True


class WebLeads(pa.DataFrameModel):
    """Sign-ups of the web forms, dropped as CSV files by the web team (an observed source)."""

    lead_id: int = pa.Field(unique=True, ge=1)
    email: str = pa.Field(str_matches=r"^[^@\s]+@[^@\s]+$", metadata={"classification": "pii"})
    channel: str = pa.Field(isin=CHANNELS)
    signed_up: dt.date = pa.Field(ge=dt.date(2026, 1, 1))
    campaign_id: int = pa.Field(ge=1)

    class Config:
        strict = True


class LeadsByChannel(pa.DataFrameModel):
    channel: str = pa.Field(unique=True, isin=CHANNELS)
    leads: int = pa.Field(ge=1)
    first_signup: dt.date = pa.Field(ge=dt.date(2026, 1, 1))
    last_signup: dt.date = pa.Field(ge=dt.date(2026, 1, 1))

    class Config:
        strict = True


class LeadCounts(pa.DataFrameModel):
    """The first cut of leads per channel; replaced by LeadsByChannel."""

    channel: str = pa.Field(unique=True, isin=CHANNELS)
    leads: int = pa.Field(ge=0)

    class Config:
        strict = True


class Audience(pa.DataFrameModel):
    customer_id: int = pa.Field(unique=True, ge=1)
    email: str = pa.Field(metadata={"classification": "pii"})
    segment: str
    orders: int = pa.Field(ge=2)

    class Config:
        strict = True
