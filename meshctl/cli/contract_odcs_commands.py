"""``mesh contract export`` and ``mesh contract import``: contracts as Open Data Contract Standard
(ODCS v3) documents. Registered on :data:`~meshctl.cli.governance_commands.contract_app`."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from assets.named_files import write_named_file
from meshctl.cli._output import (
    RootOption,
    console,
    errors,
    fail,
    open_mesh,
    plain,
    require_asset,
    user_errors,
)
from meshctl.cli.governance_commands import contract_app


class ContractFormat(str, enum.Enum):
    odcs = "odcs"


@contract_app.command("export")
def contract_export(
    asset: Annotated[str, typer.Argument(help="Asset key, e.g. sales.orders.")],
    format_: Annotated[ContractFormat, typer.Option("--format", help="The document's standard.")] = ContractFormat.odcs,
    out: Annotated[Path | None, typer.Option("--out", help="Write the YAML to this file (default: stdout).")] = None,
    version: Annotated[str | None, typer.Option(
        "--version", help="The published version the servers point at (default: the current one).")] = None,
    root: RootOption = None,
) -> None:
    """Write the asset's contract as an ODCS v3 YAML document: schema and types, quality rules,
    classification and protection, owners, freshness and retention, and each region's storage
    as a server. The document is validated with the open-data-contract-standard model first."""
    from governance.contracts import export_odcs

    mesh = open_mesh(root)
    require_asset(mesh.graph, asset)
    with user_errors():
        if version is not None and not mesh.store().has_version(asset, version):
            known = mesh.store().versions(asset)[-3:]
            fail(f"'{asset}' has no version {version!r}. Fix: name one of its versions"
                 + (f", e.g. {', '.join(known)}" if known else " (none is published yet: materialize it)"))
        text = export_odcs(mesh, asset, version=version)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        write_named_file(out, text.encode())
    except OSError as exc:
        fail(f"{out}: cannot write the document ({exc.strerror or exc}). Fix: name a writable file with --out")
    console.print(f"wrote {plain(str(out))}: {format_.value.upper()} document of {plain(asset)}", highlight=False)


@contract_app.command("import")
def contract_import(
    file: Annotated[Path, typer.Argument(help="An ODCS v3 YAML document.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="The module to write (default: domains/<domain>/contracts_<name>.py under the mesh root).")]
    = None,
    schema: Annotated[str | None, typer.Option("--schema", help="The schema object to import, when it has several.")]
    = None,
    allow_unsupported: Annotated[bool, typer.Option(
        "--allow-unsupported", help="Write the module although some rules cannot be declared (they are listed "
                                    "in it as comments, and here).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing module.")] = False,
    root: RootOption = None,
) -> None:
    """Create a pandera polars contract module (a DataFrameModel with its Fields and checks) from
    an ODCS v3 document. Rules a pandera Field cannot declare are listed with their fix; the
    module is written only with --allow-unsupported then."""
    from governance.contracts import import_odcs
    from governance.policy.loader import find_mesh_file

    with user_errors():
        contract = import_odcs(file, schema=schema)
        domain_dir = find_mesh_file(root).parent / "domains" / contract.domain
        target = out or domain_dir / f"contracts_{contract.name}.py"
    if out is None and not domain_dir.is_dir():
        fail(f"{file}: its domain '{contract.domain}' has no folder {domain_dir}. Fix: create the domain "
             f"(mesh domain create {contract.domain} --owner EMAIL --as EMAIL), or pass --out")
    for problem in contract.unsupported:
        errors.print(f"[yellow]unsupported:[/] {plain(str(problem))}", highlight=False, soft_wrap=True)
    if contract.unsupported and not allow_unsupported:
        fail(f"{file}: {len(contract.unsupported)} rule(s) cannot be declared in a pandera contract (listed above). "
             "Fix: change them as each line says, or pass --allow-unsupported to write the module with them as "
             "comments to finish by hand")
    if target.exists() and not force:
        fail(f"{target} exists. Fix: pass --out to write elsewhere, or --force to replace it")
    try:
        write_named_file(target, contract.source().encode())
    except OSError as exc:
        fail(f"{target}: cannot write the module ({exc.strerror or exc}). Fix: name a writable file with --out")
    console.print(f"wrote {plain(str(target))}: class {contract.class_name} ({len(contract.columns)} columns, "
                  f"contract version {plain(contract.version)})", highlight=False)
