"""A pandera polars contract module from an Open Data Contract Standard (ODCS v3) document.

:func:`read_odcs` reads and validates the file (YAML, the ``open-data-contract-standard`` model
and its JSON schema); :func:`import_odcs` turns its schema into an :class:`ImportedContract`: a
``pa.DataFrameModel`` class with one ``pa.Field`` per property (type, nullability, uniqueness,
classification, checks; see :mod:`governance.contracts.odcs_rules`). Rules no Field can declare
are listed in ``unsupported`` with their fix; :meth:`ImportedContract.source` writes them as
comments at the end of the module, so none is dropped silently. Servers, team and service
levels belong to the ``@asset`` (owners, freshness), not to the contract: the module's docstring
suggests them.

Every error names the file and says what to change: :class:`OdcsImportError`.
"""

from __future__ import annotations

import keyword
import math
import re
import sys
import types
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assets.errors import printable
from assets.named_files import TooLarge, read_named_file
from governance.contracts.odcs_export import (
    PLAINTEXT_PHYSICAL,
    PLAINTEXT_REQUIRED,
    PROTECTION,
    validate_document,
)
from assets.semver import is_semver
from governance.contracts.generated_code import declarations_only
from governance.contracts.odcs_rules import Unsupported, field_of, frame_rules
from governance.contracts.odcs_types import OdcsError, parse_type


#: The largest ODCS file read: a contract of thousands of columns is far smaller.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


class OdcsImportError(OdcsError):
    """An ODCS file cannot be read, or cannot be made into a pandera contract."""


class _PlainLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases (``*name``): a document of a few hundred bytes whose
    aliases nest would expand to gigabytes (a "billion laughs"), and ODCS needs none."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "an alias (*name): ODCS documents here are written "
                                                          "out in full", self.peek_event().start_mark)
        return super().compose_node(parent, index)


@dataclass(frozen=True, slots=True)
class ImportedColumn:
    """One attribute of the generated class: ``name: annotation = pa.Field(**keywords)``."""

    name: str
    annotation: str
    keywords: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedContract:
    """A contract read from an ODCS document, ready to write as a module."""

    source_file: str
    domain: str
    name: str
    class_name: str
    version: str
    description: str
    columns: tuple[ImportedColumn, ...]
    unique: tuple[str, ...] | None
    owners: tuple[str, ...]
    unsupported: tuple[Unsupported, ...]

    def source(self) -> str:
        """The Python module declaring the contract. Every text the document gave is written as
        an escaped literal or comment (:func:`_docstring`, :func:`_literal`, ``printable``): a
        document can name things, never add code."""
        owners = ", ".join(repr(o) for o in self.owners)
        header = (f"Contract {self.domain}.{self.name} (version {self.version}), imported from the ODCS document "
                  f"{Path(self.source_file).name} by `mesh contract import`.\n\n"
                  f"Use it as @asset(contract={self.class_name}, contract_version={self.version!r}"
                  + (f", owners=[{owners}]" if owners else "") + ").\n")
        lines = [_docstring(header), "",
                 "import datetime as dt  # noqa: F401  (date bounds)", "",
                 "import pandera.polars as pa", "import polars as pl  # noqa: F401  (sized types)", "", "",
                 f"class {self.class_name}(pa.DataFrameModel):"]
        if self.description:
            lines.append(f"    {_docstring(self.description)}")
            lines.append("")
        for column in self.columns:
            keywords = ", ".join(f"{k}={_literal(v)}" for k, v in column.keywords.items())
            lines.append(f"    {column.name}: {column.annotation}" + (f" = pa.Field({keywords})" if keywords else ""))
        lines += ["", "    class Config:", "        strict = True"]
        if self.unique:
            lines.append(f"        unique = {_literal(list(self.unique))}")
        if self.unsupported:
            lines += ["", "", "# Not imported: rules a pandera Field cannot declare (add them by hand):"]
            lines += [f"# - {printable(u)}" for u in self.unsupported]  # a newline in a rule would start code
        return "\n".join(lines) + "\n"

    def load(self) -> type:
        """The generated class itself (its module run in a fresh namespace), as a check that the
        module loads and pandera accepts it."""
        code = declarations_only(self.source(), where=self.source_file)
        module = types.ModuleType(f"_odcs_import_{self.name}_{uuid.uuid4().hex}")
        sys.modules[module.__name__] = module  # pandera resolves the annotations in the class's module
        try:
            exec(code, module.__dict__)  # noqa: S102 (checked by declarations_only: imports, classes, literals)
            model = module.__dict__[self.class_name]
            model.to_schema()
        except Exception as exc:  # pandera or polars refusing a value the document gave
            raise OdcsImportError(f"the contract made from it does not load: {type(exc).__name__}: {exc}",
                                  where=self.source_file, fix="correct the property the message names") from None
        finally:
            sys.modules.pop(module.__name__, None)
        return model


def read_odcs(path: Path) -> dict[str, Any]:
    """The ODCS document in ``path``, validated; any problem is an :class:`OdcsImportError`."""
    where = str(path)
    try:
        text = read_named_file(path, MAX_DOCUMENT_BYTES).decode("utf-8")
    except TooLarge:
        raise OdcsImportError(f"the file is larger than {MAX_DOCUMENT_BYTES // 2**20} MB, more than any data contract",
                              where=where, fix="split it into one document per schema") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OdcsImportError(f"cannot read the file ({exc.__class__.__name__}: {exc})", where=where,
                              fix="name an ODCS YAML file that exists and is UTF-8 text") from None
    try:
        document = yaml.load(text, Loader=_PlainLoader)  # noqa: S506 (a SafeLoader without aliases)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or exc)
        raise OdcsImportError(f"not YAML ({problem})", where=where + place,
                              fix="write the aliased value out in full" if problem.startswith("an alias")
                              else "correct the YAML syntax at that place") from None
    if not isinstance(document, dict) or not all(isinstance(k, str) for k in document):
        raise OdcsImportError("not an ODCS document (the YAML is not a mapping of fields)", where=where,
                              fix="write an ODCS v3 document: apiVersion, kind: DataContract, id, version, schema")
    try:
        validate_document(document, where=where, strict_keys=False)
    except OdcsImportError:
        raise
    except OdcsError as exc:
        raise OdcsImportError(exc.what, where=exc.where, fix=exc.fix) from None
    return document


def import_odcs(path: Path, *, schema: str | None = None) -> ImportedContract:
    """The pandera contract the ODCS document in ``path`` declares (its only schema, or the one
    named ``schema``)."""
    document = read_odcs(path)
    where = str(path)
    objects = document.get("schema") or []
    chosen = [o for o in objects if schema is None or o.get("name") == schema]
    if len(chosen) != 1:
        names = ", ".join(str(o.get("name")) for o in objects) or "none"
        raise OdcsImportError(f"the document has {len(objects)} schema object(s) ({names})"
                              + (f", none named '{schema}'" if schema and not chosen else ""), where=where,
                              fix="name one with --schema NAME" if objects else "add a schema with its properties")
    obj = chosen[0]
    name = _identifier(str(obj.get("name") or ""), what="schema name", where=where)
    domain = _identifier(str(document.get("domain") or ""), what="domain", where=where)
    columns, unsupported = [], []
    for index, prop in enumerate(obj.get("properties") or []):
        column, problems = _column(prop, where=f"{where} schema[{name}].properties[{index}]")
        columns.append(column)
        unsupported += problems
    if not columns:
        raise OdcsImportError(f"schema '{name}' has no properties", where=where,
                              fix="list the columns under properties")
    unique, frame_problems = frame_rules(obj.get("quality") or [], [c.keywords.get("alias", c.name) for c in columns],
                                         where=f"{where} schema[{name}].quality")
    team = document.get("team")
    members = team.get("members") if isinstance(team, dict) else team
    owners = tuple(str(m["username"]) for m in members or [] if isinstance(m, dict) and m.get("role") == "owner"
                   and m.get("username"))
    version = str(document.get("version"))
    if not is_semver(version):
        raise OdcsImportError(f"the version {version[:80]!r} is not a semantic version", where=where,
                              fix="set the document's version to MAJOR.MINOR.PATCH, e.g. '1.0.0' (the @asset's "
                                  "contract_version)")
    contract = ImportedContract(
        source_file=where, domain=domain, name=name, class_name=_class_name(obj.get("businessName"), name), version=version,
        description=str(obj.get("description") or ""), columns=tuple(columns),
        unique=tuple(unique) if unique else None, owners=owners, unsupported=tuple(unsupported + frame_problems))
    contract.load()
    return contract


def _column(prop: Mapping[str, Any], *, where: str) -> tuple[ImportedColumn, list[Unsupported]]:
    raw = str(prop.get("name") or "")
    if not raw:
        raise OdcsImportError("a property has no name", where=where, fix="give every property a name")
    custom = {c.get("property"): c.get("value") for c in prop.get("customProperties") or []}
    protection = custom.get(PROTECTION)
    physical, logical = prop.get("physicalType"), prop.get("logicalType")
    if protection:  # the stored type is VARCHAR; the plaintext's is the contract's
        physical = custom.get(PLAINTEXT_PHYSICAL) or ("VARCHAR" if logical in (None, "string") else None)
    try:
        ctype = parse_type(physical, logical, column=raw, where=where)
    except OdcsError as exc:
        raise OdcsImportError(exc.what, where=exc.where, fix=exc.fix) from None
    draft = field_of(prop, ctype.dtype, where=where)
    keywords = dict(draft.keywords)
    required = custom.get(PLAINTEXT_REQUIRED, prop.get("required")) is True
    if keywords.pop("nullable", True) is not False and not required:
        keywords["nullable"] = True  # ODCS properties are optional unless required; pandera's are required
    if prop.get("unique"):
        keywords["unique"] = True
    if draft.warnings == {True}:
        keywords["raise_warning"] = True
    elif draft.warnings == {True, False}:  # a Field's checks all block, or all warn: the warnings are left out
        for key, rule in draft.warning_rules.items():
            keywords.pop(key, None)
            draft.unsupported.append(Unsupported(rule, where, "a warning rule beside blocking ones: a pandera Field "
                                                              "raises all its checks one way; add it as a "
                                                              "@pa.check(..., raise_warning=True)"))
    metadata = {k: v for k, v in (("classification", prop.get("classification")),
                                  ("primary_key", True if prop.get("primaryKey") else None)) if v}
    if metadata:
        keywords["metadata"] = metadata
    if prop.get("description"):
        keywords["description"] = str(prop["description"])
    if prop.get("businessName"):
        keywords["title"] = str(prop["businessName"])
    name = raw
    if not raw.isidentifier() or keyword.iskeyword(raw) or raw.startswith("_"):
        name = _safe(raw)
        keywords["alias"] = raw
    return ImportedColumn(name, ctype.annotation, keywords), draft.unsupported


def _identifier(text: str, *, what: str, where: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", text) or keyword.iskeyword(text):
        raise OdcsImportError(f"the {what} {text!r} is not a mesh name (lower case letters, digits, _)", where=where,
                              fix=f"set the document's {what} to a name like 'orders'")
    return text


def _safe(text: str) -> str:
    name = re.sub(r"\W", "_", text).lstrip("_") or "column"
    return f"c_{name}" if name[0].isdigit() or keyword.iskeyword(name) else name


def _class_name(business: Any, name: str) -> str:
    if isinstance(business, str) and re.fullmatch(r"[A-Z][A-Za-z0-9_]*", business) and not keyword.iskeyword(business):
        return business
    return _camel(name)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part) or "Contract"


def _docstring(text: str) -> str:
    """A string literal of ``text``: triple-quoted when that is safe and readable, else escaped."""
    plain = '"' not in text and "\\" not in text and all(line.isprintable() for line in text.split("\n"))
    return f'"""{text}"""' if plain else repr(text)


def _literal(value: Any) -> str:
    """Python source for a plain value; dates as ``dt.date(...)``."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return f"dt.datetime.fromisoformat({value.isoformat()!r})"
    if isinstance(value, dt.date):
        return f"dt.date({value.year}, {value.month}, {value.day})"
    if isinstance(value, dt.time):
        return f"dt.time.fromisoformat({value.isoformat()!r})"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if value is None or isinstance(value, (str, int, float, bool)):
        return repr(value)
    return repr(str(value))


__all__ = ["ImportedColumn", "ImportedContract", "OdcsImportError", "import_odcs", "read_odcs"]
