"""``[keys] provider``: the embedded local provider, or a plug-in named ``package.module:factory``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from assets.errors import ConfigError
from governance.policy import load_policy
from governance.protection.providers import key_provider


def failing_factory(policy: object, state_dir: Path) -> object:
    raise RuntimeError("the KMS endpoint is not set")


def hollow_factory(policy: object, state_dir: Path) -> object:
    return object()


@pytest.mark.parametrize(("provider", "refusal"), [
    ("os:system", "is a builtin_function_or_method, not a class or function of a plug-in"),
    ("builtins:print", "not a class or function of a plug-in"),
    ("no_such_package.kms:Provider", "cannot be loaded"),
    (f"{__name__}:failing_factory", "failed to start: RuntimeError: the KMS endpoint is not set"),
    (f"{__name__}:hollow_factory", "lacks active_kek_id, kek_ids, wrap, unwrap, rotate, retire"),
])
def test_a_provider_that_is_not_a_working_plug_in_is_a_config_error(
        example_root: Path, provider: str, refusal: str, capsys: pytest.CaptureFixture[str]) -> None:
    policy = load_policy(example_root)
    policy = dataclasses.replace(policy, keys=dataclasses.replace(policy.keys, provider=provider))
    with pytest.raises(ConfigError, match=refusal) as refused:
        key_provider(policy, example_root / ".mesh")
    assert refused.value.where == "[keys].provider" and refused.value.fix
    assert capsys.readouterr().out == "", "nothing of the policy is printed"
