"""Meshes for benchmarks: a copy of the example mesh, or a synthetic mesh of any size."""

from __future__ import annotations

import shutil
from pathlib import Path

#: The repository, whose example mesh the benchmarks copy.
REPO = Path(__file__).resolve().parent.parent


def example_mesh(target: Path) -> Path:
    """A copy of the repository's example mesh in ``target``, its regions local folders there,
    its people enrolled with keys in ``target``'s identity folder (the example's grants are
    signed there, as the demo's set-up signs them)."""
    from governance.dr.drill import throwaway_copy
    from governance.identity.example import enroll_people

    copy = throwaway_copy(REPO, target)
    # the observed sources' sample files, without what a demo dropped beside them
    shutil.copytree(REPO / "drops", copy / "drops", ignore=shutil.ignore_patterns("demo-*"), dirs_exist_ok=True)
    enroll_people(copy, copy / ".mesh" / "identities")
    return copy

_CONTRACT = '''import pandera.polars as pa


class Rows(pa.DataFrameModel):
    id: int = pa.Field(ge=0)
    value: float = pa.Field(ge=0, le=1_000_000)
    label: str = pa.Field(isin=["a", "b", "c", "d"])

    class Config:
        strict = True
'''
_ROOT = '''

@asset(contract=Rows, contract_version="1.0.0", schedule="@daily", owners=["{domain}@acme.example"],
       visibility="public")
def {name}() -> pl.DataFrame:
    n = {rows}
    return pl.DataFrame({{"id": pl.int_range(0, n, eager=True)}}).with_columns(
        value=(pl.col("id") % 1000).cast(pl.Float64), label=pl.lit("abcd").str.slice(pl.col("id") % 4, 1))
'''
_DERIVED = '''

@asset(contract=Rows, contract_version="1.0.0", ins={ins}, owners=["{domain}@acme.example"],
       visibility="public"{extra})
def {name}({params}) -> pl.LazyFrame:
    return pl.concat([{frames}]).head({rows})
'''


def write_mesh(root: Path, *, domains: int, assets_per_domain: int, rows: int = 10,
               standby: bool = False, freshness: str | None = None) -> list[str]:
    """Write ``mesh.toml`` and ``domains/`` for ``domains * assets_per_domain`` assets.

    Each domain's first asset is a root; every other asset reads the previous asset of its
    domain and, every third one, an asset of the previous domain. Returns the asset keys.
    With ``standby`` the mesh has a secondary region, so every publish is replicated. With
    ``freshness`` (``"26h"``) every derived asset declares it (roots are due by their schedule).
    """
    (root / "domains").mkdir(parents=True, exist_ok=True)
    (root / "domains" / "__init__.py").write_text("")
    toml = ['[mesh]\nname = "synthetic"\nprimary_region = "main"\n'
            + ('secondary_region = "standby"\n' if standby else ""),
            '[regions.main]\nstorage = "store"\njurisdiction = "us"\n']
    if standby:
        toml.append('[regions.standby]\nstorage = "standby"\njurisdiction = "us"\n')
    keys: list[str] = []
    for d in range(domains):
        domain = f"d{d:03d}"
        toml.append(f'[domains.{domain}]\nowners = ["{domain}@acme.example"]\nmax_assets = {assets_per_domain}\n')
        package = root / "domains" / domain
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "contracts.py").write_text(_CONTRACT)
        code = [f"import polars as pl\n\nfrom assets import asset\nfrom domains.{domain}.contracts import Rows\n"]
        for a in range(assets_per_domain):
            name = f"a{a:03d}"
            if a == 0:
                code.append(_ROOT.format(domain=domain, name=name, rows=rows))
            else:
                ins = {"prev": f"{domain}.a{a - 1:03d}"}
                if d > 0 and a % 3 == 0:
                    ins["other"] = f"d{d - 1:03d}.a{a:03d}"
                code.append(_DERIVED.format(domain=domain, name=name, ins=ins, params=", ".join(
                    f"{p}: pl.LazyFrame" for p in ins), frames=", ".join(ins), rows=rows,
                    extra=f', freshness="{freshness}"' if freshness else ""))
            keys.append(f"{domain}.{name}")
        (package / "assets.py").write_text("".join(code))
    (root / "mesh.toml").write_text("\n".join(toml))
    return keys


def write_dag_files(root: Path) -> None:
    """``root/dags/<domain>.py`` for every domain of the mesh at ``root``: the repository's own
    DAG file of the sales domain, naming each domain instead."""
    from governance.policy import load_policy

    template = (REPO / "dags" / "sales.py").read_text()
    if '"sales"' not in template:
        raise RuntimeError("dags/sales.py no longer names its domain as \"sales\": update write_dag_files")
    (root / "dags").mkdir(exist_ok=True)
    for domain in load_policy(root).domains:
        (root / "dags" / f"{domain}.py").write_text(template.replace('"sales"', f'"{domain}"'))
