"""The selection syntax of DESIGN.md, on the example mesh."""

from __future__ import annotations

import pytest

from assets import Mesh, SelectionError


@pytest.mark.parametrize(("selection", "expected"), [
    pytest.param("sales.orders", {"sales.orders"}, id="key"),
    pytest.param("key:sales.orders", {"sales.orders"}, id="key-prefix"),
    pytest.param("finance.*", {"finance.fx_rates", "finance.revenue", "finance.monthly_revenue"}, id="glob"),
    pytest.param("*.orders", {"sales.orders"}, id="glob-name"),
    pytest.param("domain:customers", {"customers.customers", "customers.customer_segments"}, id="domain"),
    pytest.param("+finance.monthly_revenue",
                 {"finance.monthly_revenue", "finance.revenue", "finance.fx_rates", "sales.orders"}, id="upstream"),
    pytest.param("1+finance.monthly_revenue", {"finance.monthly_revenue", "finance.revenue"}, id="upstream-depth"),
    pytest.param("finance.fx_rates+",
                 {"finance.fx_rates", "finance.revenue", "finance.monthly_revenue", "marketing.campaign_performance"},
                 id="downstream"),
    pytest.param("customers.customers+1",
                 {"customers.customers", "customers.customer_segments", "sales.customer_orders"}, id="downstream-depth"),
    pytest.param("tag:pii=yes", {"customers.customers", "sales.customer_orders", "marketing.audience"}, id="tag-value"),
    pytest.param("owner:finance-data@acme.example",
                 {"finance.fx_rates", "finance.revenue", "finance.monthly_revenue"}, id="owner"),
    pytest.param("domain:finance and tag:tier=gold", {"finance.fx_rates", "finance.revenue", "finance.monthly_revenue"},
                 id="and"),
    pytest.param("domain:sales and not tag:tier=gold", {"sales.products", "sales.product_performance",
                                                        "sales.daily_orders"}, id="and-not"),
    pytest.param("sales.orders, finance.fx_rates", {"sales.orders", "finance.fx_rates"}, id="comma"),
    pytest.param("sales.orders finance.fx_rates", {"sales.orders", "finance.fx_rates"}, id="space"),
    pytest.param("(domain:sales or domain:finance) and tag:tier=silver",
                 {"sales.products", "sales.product_performance", "sales.daily_orders"}, id="parentheses"),
])
def test_selection(example_mesh: Mesh, selection: str, expected: set[str]) -> None:
    assert set(example_mesh.select(selection)) == expected


def test_star_selects_everything_in_topological_order(example_mesh: Mesh) -> None:
    keys = example_mesh.select("*")
    assert len(keys) == len(example_mesh.graph) == 15
    assert keys.index("sales.orders") < keys.index("finance.revenue") < keys.index("finance.monthly_revenue")


@pytest.mark.parametrize(("selection", "message"), [
    pytest.param("", "the selection is empty", id="empty"),
    pytest.param("   ", "the selection is empty", id="blank"),
    pytest.param("sales.ordrs", "Did you mean 'sales.orders'", id="typo"),
    pytest.param("domain:fnance", "Did you mean 'domain:finance'", id="domain-typo"),
    pytest.param("colour:red", "unknown selector 'colour:'", id="unknown-selector"),
    pytest.param("(sales.orders", "missing ')'", id="unclosed"),
    pytest.param("sales.orders and", "ends too early", id="dangling-and"),
    pytest.param("sales.orders )", "unexpected ')'", id="stray-paren"),
])
def test_bad_selections_are_refused(example_mesh: Mesh, selection: str, message: str) -> None:
    with pytest.raises(SelectionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        example_mesh.select(selection)
