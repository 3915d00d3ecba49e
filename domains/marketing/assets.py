"""Data products of the marketing domain."""

import datetime as dt

import numpy as np
import polars as pl

from assets import AssetContext, asset, source_asset
from domains.marketing.contracts import (
    CHANNELS,
    Audience,
    CampaignPerformance,
    Campaigns,
    LeadCounts,
    LeadsByChannel,
    WebLeads,
)

CAMPAIGNS = 40
_OWNERS = ["marketing-data@acme.example"]


@asset(contract=Campaigns, contract_version="1.0.0", schedule="0 6 * * 1", visibility="public",
       owners=_OWNERS, freshness="8d", tags={"tier": "silver"})
def campaigns(context: AssetContext) -> pl.DataFrame:
    """Marketing campaigns of 2026: channel, dates and budget."""
    rng = np.random.default_rng([context.param("seed", 7), 5])
    start = rng.integers(0, 330, CAMPAIGNS)
    return pl.DataFrame({
        "campaign_id": np.arange(1, CAMPAIGNS + 1),
        "name": [f"Campaign {i:02d}" for i in range(1, CAMPAIGNS + 1)],
        "channel": np.array(CHANNELS)[rng.integers(0, len(CHANNELS), CAMPAIGNS)],
        "start": start,
        "length": rng.integers(7, 35, CAMPAIGNS),
        "budget_usd": np.round(rng.uniform(5_000, 250_000, CAMPAIGNS), 2),
    }).select(
        "campaign_id", "name", "channel",
        start_date=pl.lit(dt.date(2026, 1, 1)) + pl.duration(days=pl.col("start")),
        end_date=pl.lit(dt.date(2026, 1, 1)) + pl.duration(days=(pl.col("start") + pl.col("length")).clip(0, 364)),
        budget_usd=pl.col("budget_usd"),
    )


@asset(contract=CampaignPerformance, contract_version="1.0.0",
       ins={"orders": "sales.orders", "fx_rates": "finance.fx_rates"}, visibility="public",
       owners=_OWNERS, freshness="26h", tags={"tier": "gold"})
def campaign_performance(campaigns: pl.LazyFrame, orders: pl.LazyFrame, fx_rates: pl.LazyFrame) -> pl.LazyFrame:
    """Orders and US-dollar revenue attributed to each campaign (same channel, in its window)."""
    priced = orders.join(fx_rates, left_on=["order_date", "currency"], right_on=["rate_date", "currency"]) \
        .select("channel", "order_date", revenue_usd=pl.col("amount") * pl.col("rate_to_usd"))
    attributed = (
        campaigns.join(priced, on="channel", how="left")
        .filter(pl.col("order_date").is_between(pl.col("start_date"), pl.col("end_date")))
        .group_by("campaign_id").agg(orders=pl.len().cast(pl.Int64), revenue_usd=pl.col("revenue_usd").sum())
    )
    return (
        campaigns.join(attributed, on="campaign_id", how="left")
        .select("campaign_id", "channel",
                orders=pl.col("orders").fill_null(0), revenue_usd=pl.col("revenue_usd").fill_null(0.0).round(2),
                budget_usd="budget_usd",
                roas=(pl.col("revenue_usd").fill_null(0.0) / pl.col("budget_usd")).round(4))
        .sort("campaign_id")
    )


@asset(contract=Audience, contract_version="1.0.0", ins={"customer_orders": "sales.customer_orders"},
       visibility="private", owners=_OWNERS, freshness="26h", tags={"tier": "silver", "pii": "yes"})
def audience(customer_orders: pl.LazyFrame) -> pl.LazyFrame:
    """Repeat customers (two orders or more) to invite to the loyalty campaign."""
    return (
        customer_orders.filter(pl.col("orders") >= 2)
        .select("customer_id", "email", "segment", "orders")
        .sort("customer_id")
    )


@source_asset(drop="drops/marketing/web_leads/*.csv", contract=WebLeads, contract_version="1.0.0",
              visibility="private", owners=_OWNERS, freshness="8d", tags={"tier": "bronze", "pii": "yes"})
def web_leads(arrived: pl.LazyFrame) -> pl.LazyFrame:
    """Sign-ups of the web forms: each CSV file the web team drops in drops/marketing/web_leads/
    (written under a temporary name, then renamed) is observed, gated and published as a version."""
    return arrived.select("lead_id", "email", "channel", "signed_up", "campaign_id")


@asset(contract=LeadsByChannel, contract_version="1.0.0", visibility="public", owners=_OWNERS,
       freshness="8d", tags={"tier": "silver"})
def leads_by_channel(web_leads: pl.LazyFrame) -> pl.LazyFrame:
    """Leads of the latest web drop per channel, with their first and last sign-up days."""
    return (
        web_leads.group_by("channel")
        .agg(leads=pl.len().cast(pl.Int64), first_signup=pl.col("signed_up").min(),
             last_signup=pl.col("signed_up").max())
        .sort("channel")
    )


@asset(contract=LeadCounts, contract_version="1.0.0", visibility="public", owners=_OWNERS,
       freshness="8d", tags={"tier": "bronze"}, deprecated="2027-03-31", replaced_by="marketing.leads_by_channel")
def lead_counts(web_leads: pl.LazyFrame) -> pl.LazyFrame:
    """Leads per channel (deprecated: read marketing.leads_by_channel, which adds sign-up days)."""
    return web_leads.group_by("channel").agg(leads=pl.len().cast(pl.Int64)).sort("channel")
