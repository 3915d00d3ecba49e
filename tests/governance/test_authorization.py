"""Permissions are checked inside the governance operations, deny by default, and every refusal
is audited with the person, the action and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assets import Mesh
from governance.access import PermissionDeniedError
from governance.audit.access import checkpoint_audit, query_audit
from governance.dr import failback, failover, rewrap_backups
from governance.dr.kek_retirement import retire_kek
from governance.protection.rotation import rotate_keys
from governance.services import governed
from governance.tenancy import create_domain, retire_domain
from meshctl.cli import app
from tests.conftest import person

NOBODY = person("nobody@acme.example")


@pytest.mark.parametrize("operation, action", [
    pytest.param(lambda m: failover(m, "us-west", governed(m).audit, actor=NOBODY), "failover", id="failover"),
    pytest.param(lambda m: failback(m, governed(m).audit, actor=NOBODY), "failback", id="failback"),
    pytest.param(lambda m: rotate_keys(m, governed(m).keyring, governed(m).audit, actor=NOBODY), "key_rotate",
                 id="rotate_keys"),
    pytest.param(lambda m: retire_kek(m, governed(m).keyring, governed(m).audit, "abc", actor=NOBODY), "key_retire",
                 id="retire_kek"),
    pytest.param(lambda m: rewrap_backups(m, governed(m).keyring, governed(m).audit, actor=NOBODY),
                 "key_rewrap_backup", id="rewrap_backups"),
    pytest.param(lambda m: retire_domain(m, "marketing", NOBODY, governed(m).audit), "domain_retire",
                 id="retire_domain"),
    pytest.param(lambda m: create_domain(m.root, "logistics", "x@acme.example", governed(m).audit, actor=NOBODY),
                 "domain_create", id="create_domain"),
    pytest.param(lambda m: query_audit(m.policy, governed(m).audit, NOBODY), "audit_query", id="audit_query"),
    pytest.param(lambda m: checkpoint_audit(m.policy, governed(m).audit, NOBODY), "audit_checkpoint",
                 id="audit_checkpoint"),
])
def test_every_operation_refuses_an_actor_without_the_permission_from_python(example_mesh: Mesh, operation,
                                                                             action: str) -> None:
    with pytest.raises(PermissionDeniedError) as refused:
        operation(example_mesh)
    assert "nobody@acme.example" in str(refused.value) and "Fix:" in str(refused.value)
    [record] = governed(example_mesh).audit.query(action=action)
    assert (record.actor, record.outcome, record.details["identity"]) == ("nobody@acme.example", "denied", "ed25519")
    assert example_mesh.active_region == "us-east" and "marketing" in example_mesh.policy.active_domains


def test_a_holder_of_the_permission_may_act(example_mesh: Mesh) -> None:
    records = query_audit(example_mesh.policy, governed(example_mesh).audit, person("Council@ACME.example"))
    assert isinstance(records, list)
    assert governed(example_mesh).audit.query(action="audit_query")[-1].actor == "council@acme.example"


def test_retiring_a_domain_as_nobody_through_the_cli_changes_nothing(example_root: Path) -> None:
    before = (example_root / "mesh.toml").read_text()
    done = CliRunner().invoke(app, ["domain", "retire", "marketing", "--as", "nobody@acme.example",
                                    "--root", str(example_root)])
    assert done.exit_code == 1 and "Traceback" not in done.output
    assert (example_root / "mesh.toml").read_text() == before


def test_acting_as_someone_whose_key_you_do_not_hold_is_refused_and_audited(example_root: Path,
                                                                            tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["dr", "failover", "--to", "us-west", "--as", "platform@acme.example",
                                    "--root", str(example_root)], env={"MESH_IDENTITY": str(tmp_path / "empty")})
    assert done.exit_code == 1
    assert "platform@acme.example" in done.output and "Fix:" in done.output
    from governance.wiring import load_policy_mesh

    mesh = load_policy_mesh(example_root)
    [record] = governed(mesh).audit.query(action="dr_operation")
    assert (record.actor, record.target, record.outcome) == ("platform@acme.example", "identity", "denied")
    assert mesh.active_region == "us-east"
