"""The @asset decorator refuses invalid definitions, naming the asset, its file and line, and the fix."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pandera.polars as pa
import polars as pl
import pytest

from assets import AssetContext, DefinitionError, asset


class Rows(pa.DataFrameModel):
    n: int


def in_domain(module: str = "domains.sales.assets") -> Callable[..., Any]:
    """A fresh function that looks as if it lived in ``module``."""

    def orders(customers: pl.LazyFrame, context: AssetContext) -> pl.DataFrame:
        """Every order."""
        return pl.DataFrame({"n": [1]})

    orders.__module__ = module
    return orders


def test_a_valid_definition_is_a_frozen_spec() -> None:
    d = asset(contract=Rows, contract_version="1.2.3", ins={"customers": "customers.customers"},
              schedule="@hourly", visibility="public", owners=["sales@acme.example"], freshness="2h",
              tags={"tier": "gold"})(in_domain())
    assert d.key == "sales.orders"
    assert dict(d.spec.inputs) == {"customers": "customers.customers"}
    assert d.wants_context
    assert d.spec.description == "Every order."
    assert d.spec.freshness is not None and d.spec.freshness.total_seconds() == 7200
    assert d.spec.source.endswith(f"test_definition.py:{in_domain.__code__.co_firstlineno + 3}")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.spec.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        d.spec.tags["tier"] = "bronze"  # type: ignore[index]


def test_a_parameter_named_like_an_asset_of_the_domain_is_that_asset() -> None:
    d = asset(contract=Rows, contract_version="1.0.0")(in_domain())
    assert dict(d.spec.inputs) == {"customers": "sales.customers"}


@pytest.mark.parametrize(("kwargs", "message"), [
    pytest.param({"contract": None}, "has no contract", id="missing-contract"),
    pytest.param({"contract": dict}, "is not a pandera.polars DataFrameModel", id="contract-not-a-model"),
    pytest.param({"contract_version": "1.0"}, "is not semantic versioning", id="bad-semver"),
    pytest.param({"contract_version": "v1.0.0"}, "is not semantic versioning", id="semver-with-v"),
    pytest.param({"visibility": "publik"}, "Did you mean 'public'", id="unknown-visibility"),
    pytest.param({"schedule": "every hour"}, "bad schedule", id="bad-cron-words"),
    pytest.param({"schedule": "61 * * * *"}, "not a valid cron", id="bad-cron-minute"),
    pytest.param({"schedule": "@hourlyy"}, "unknown preset", id="bad-preset"),
    pytest.param({"freshness": "2 hours"}, "bad freshness", id="bad-freshness"),
    pytest.param({"owners": ["sales team"]}, "is not an e-mail address", id="bad-owner"),
    pytest.param({"ins": {"custmers": "customers.customers"}}, "Did you mean 'customers'", id="ins-unknown-param"),
    pytest.param({"ins": {"customers": "customers"}}, "is not an asset key", id="ins-bad-key"),
    pytest.param({"trigger": "some"}, "unknown trigger", id="bad-trigger"),
])
def test_invalid_definitions_are_refused(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"contract": Rows, "contract_version": "1.0.0"}
    with pytest.raises(DefinitionError) as caught:
        asset(**(base | kwargs))(in_domain())
    text = str(caught.value)
    assert message in text
    assert "asset 'sales.orders'" in text
    assert "test_definition.py:" in caught.value.where
    assert caught.value.fix


@pytest.mark.parametrize(("change", "message"), [
    pytest.param({"contract_version": "x"}, "contract_version 'x' is not semantic versioning", id="bad-semver"),
    pytest.param({"visibility": "publik"}, "Did you mean 'public'", id="unknown-visibility"),
    pytest.param({"schedule": "61 * * * *"}, "bad schedule", id="bad-cron"),
    pytest.param({"owners": ("sales team",)}, "is not an e-mail address", id="bad-owner"),
    pytest.param({"retries": -1}, "retries must not be negative", id="negative-retries"),
    pytest.param({"inputs": {"customers": "customers"}}, "is not an asset key", id="bad-input-key"),
    pytest.param({"contract": None}, "has no contract", id="no-contract"),
    pytest.param({"name": "Orders"}, "is not a valid asset name", id="bad-name"),
])
def test_a_spec_is_validated_when_made_so_replace_cannot_build_an_invalid_one(change: dict[str, Any],
                                                                            message: str) -> None:
    spec = asset(contract=Rows, contract_version="1.0.0")(in_domain()).spec
    with pytest.raises(DefinitionError) as caught:
        dataclasses.replace(spec, **change)
    assert message in str(caught.value) and caught.value.fix
    assert caught.value.where == spec.source and "test_definition.py:" in spec.source


def test_a_valid_replace_still_works() -> None:
    spec = asset(contract=Rows, contract_version="1.0.0")(in_domain()).spec
    assert dataclasses.replace(spec, contract_version="2.0.0").contract_major == 2


def test_a_function_outside_a_domain_package_is_refused() -> None:
    with pytest.raises(DefinitionError, match="not inside a domain package"):
        asset(contract=Rows, contract_version="1.0.0")(in_domain("analytics.jobs"))


def test_variadic_parameters_are_refused() -> None:
    def rows(*frames: pl.LazyFrame) -> pl.DataFrame:
        return pl.DataFrame({"n": [1]})

    rows.__module__ = "domains.sales.assets"
    with pytest.raises(DefinitionError, match="variadic"):
        asset(contract=Rows, contract_version="1.0.0")(rows)
