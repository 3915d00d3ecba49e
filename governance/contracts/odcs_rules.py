"""pandera checks between a contract and ODCS, both ways.

Written (:func:`export_checks`), each check of a column takes the most standard form that says
exactly what it means:

- bounds, lengths and patterns: the property's ``logicalTypeOptions`` (``minimum``,
  ``exclusiveMaximum``, ``minLength``, ``pattern``...);
- allowed values: a library rule ``invalidValues`` with ``validValues`` and ``mustBe: 0``;
- anything else (a custom check, ``notin``, a warning-level bound) and every value rule of a
  protected column (its stored values are tokens or cipher text, so the rule holds on the
  plaintext only): a ``text`` rule describing it, whose custom property ``panderaCheck`` holds
  the check's name and statistics so that the import rebuilds it.

Read (:func:`field_of`), the same forms become the keyword arguments of ``pa.Field``; a rule
that no pandera Field can declare is an :class:`Unsupported` with its fix, never dropped.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

#: The custom property of a text rule that carries the pandera check it describes.
PANDERA_CHECK = "panderaCheck"

#: pandera's built-in checks, by name: the ``pa.Field`` keyword each is declared with.
_FIELD_KEYWORD = {"equal_to": "eq", "not_equal_to": "ne", "greater_than": "gt", "greater_than_or_equal_to": "ge",
                  "less_than": "lt", "less_than_or_equal_to": "le", "in_range": "in_range", "isin": "isin",
                  "notin": "notin", "str_matches": "str_matches", "str_contains": "str_contains",
                  "str_startswith": "str_startswith", "str_endswith": "str_endswith", "str_length": "str_length"}
#: ``logicalTypeOptions`` keys and the ``pa.Field`` keyword each reads as.
_OPTION_KEYWORD = {"minimum": "ge", "exclusiveMinimum": "gt", "maximum": "le", "exclusiveMaximum": "lt"}


#: What a protected column's stored values are, by protection.
_STORED = {"tokenize": "tokens", "encrypt": "cipher text", "redact": "empty (redacted)"}


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A rule of a document that the generated contract cannot declare."""

    rule: str
    where: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: rule '{self.rule}' is not supported. Fix: {self.fix}"


@dataclass(slots=True)
class PropertyRules:
    """What a column's checks say in ODCS: options of its logical type and quality rules."""

    options: dict[str, Any] = field(default_factory=dict)
    quality: list[dict[str, Any]] = field(default_factory=list)


def plain(value: Any) -> Any:
    """``value`` as YAML/JSON can hold it (dates as ISO text, collections as lists)."""
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in (sorted(value, key=str) if isinstance(value, (set, frozenset)) else value)]
    return value


def typed(value: Any, dtype: pl.DataType) -> Any:
    """A plain ``value`` back as the column's Python type (ISO text to dates and times)."""
    if isinstance(value, list):
        return [typed(v, dtype) for v in value]
    if isinstance(value, str):
        parse = {pl.Date: dt.date.fromisoformat, pl.Datetime: dt.datetime.fromisoformat,
                 pl.Time: dt.time.fromisoformat}.get(type(dtype))
        if parse is not None:
            return parse(value)
    return value


def _text_rule(name: str, statistics: Mapping[str, Any], description: str, *, warning: bool) -> dict[str, Any]:
    return {"type": "text", "name": name, "description": description,
            "severity": "warning" if warning else "error",
            "customProperties": [{"property": PANDERA_CHECK, "value": {
                "name": name, **{k: plain(v) for k, v in statistics.items() if v is not None}}}]}


def _standard_options(name: str, stats: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``logicalTypeOptions`` that say exactly what a built-in check says, or ``None``."""
    if name in ("greater_than_or_equal_to", "greater_than"):
        return {"minimum" if name.endswith("equal_to") else "exclusiveMinimum": plain(stats["min_value"])}
    if name in ("less_than_or_equal_to", "less_than"):
        return {"maximum" if name.endswith("equal_to") else "exclusiveMaximum": plain(stats["max_value"])}
    if name == "in_range":
        low = "minimum" if stats.get("include_min", True) else "exclusiveMinimum"
        high = "maximum" if stats.get("include_max", True) else "exclusiveMaximum"
        return {low: plain(stats["min_value"]), high: plain(stats["max_value"])}
    if name == "str_length":
        exact = stats.get("exact_value")
        bounds = {"minLength": exact, "maxLength": exact} if exact is not None else \
            {"minLength": stats.get("min_value"), "maxLength": stats.get("max_value")}
        return {k: v for k, v in bounds.items() if v is not None}
    if name == "str_matches":
        pattern = str(stats["pattern"])  # pandera matches at the start; an ODCS pattern searches
        return {"pattern": pattern if pattern.startswith("^") else f"^(?:{pattern})"}
    if name == "str_contains":
        return {"pattern": str(stats["pattern"])}
    return None


def export_checks(checks: Iterable[Any], *, protected: str | None) -> PropertyRules:
    """The ODCS form of a column's pandera ``checks``; ``protected`` names the protection of a
    classified column (its stored values are not the plaintext the checks hold on)."""
    rules = PropertyRules()
    for check in checks:
        name, stats, warning = str(check.name), dict(check.statistics or {}), bool(check.raise_warning)
        text = str(check.description or check.error or name)
        options = None if (protected or warning) else _standard_options(name, stats)
        if options is not None and not options.keys() & rules.options.keys():
            rules.options.update(options)
        elif name == "isin" and not protected and _scalars(stats["allowed_values"]):
            rules.quality.append({"type": "library", "metric": "invalidValues", "name": name,
                                  "arguments": {"validValues": plain(stats["allowed_values"])}, "mustBe": 0,
                                  "severity": "warning" if warning else "error"})
        else:
            if protected:
                text += f" (holds on the plaintext: the stored values are {_STORED.get(protected, protected)})"
            rules.quality.append(_text_rule(name, stats, text, warning=warning))
    return rules


def export_frame_checks(checks: Iterable[Any]) -> list[dict[str, Any]]:
    """Text rules of a contract's dataframe-wide checks (custom functions: described, not SQL)."""
    return [_text_rule(str(c.name), dict(c.statistics or {}), str(c.description or c.error or c.name),
                       warning=bool(c.raise_warning)) for c in checks]


def _scalars(values: Iterable[Any]) -> bool:
    return all(isinstance(v, (str, int, float, bool)) for v in values)


@dataclass(slots=True)
class FieldDraft:
    """The ``pa.Field`` keywords read for one property, and what could not be read."""

    keywords: dict[str, Any] = field(default_factory=dict)
    warnings: set[bool] = field(default_factory=set)
    unsupported: list[Unsupported] = field(default_factory=list)
    #: The rule behind each keyword read from a warning-level rule.
    warning_rules: dict[str, str] = field(default_factory=dict)

    def add(self, keyword: str, value: Any, *, warning: bool, rule: str, where: str) -> None:
        if keyword in self.keywords and self.keywords[keyword] != value:
            self.unsupported.append(Unsupported(rule, where, f"a pandera Field declares {keyword}= once: merge the "
                                                             f"two rules into one"))
            return
        self.keywords[keyword] = value
        self.warnings.add(warning)
        if warning:
            self.warning_rules[keyword] = rule


def field_of(prop: Mapping[str, Any], dtype: pl.DataType, *, where: str) -> FieldDraft:
    """The ``pa.Field`` keywords an ODCS property's options and quality rules declare."""
    draft = FieldDraft()
    options = prop.get("logicalTypeOptions") or {}
    for option, keyword in _OPTION_KEYWORD.items():
        if option in options:
            _safely(draft, option, where, lambda k=keyword, o=option: draft.add(
                k, typed(options[o], dtype), warning=False, rule=o, where=where))
    if "minLength" in options or "maxLength" in options:
        lengths = {"min_value": options.get("minLength"), "max_value": options.get("maxLength")}
        draft.add("str_length", {k: v for k, v in lengths.items() if v is not None}, warning=False,
                  rule="minLength/maxLength", where=where)
    if "pattern" in options:
        pattern = str(options["pattern"])
        draft.add("str_matches" if pattern.startswith("^") else "str_contains", pattern, warning=False,
                  rule="pattern", where=where)
    if prop.get("enum"):
        values = [v.get("value") if isinstance(v, Mapping) else v for v in prop["enum"]]
        _safely(draft, "enum", where, lambda: draft.add("isin", typed(values, dtype), warning=False, rule="enum",
                                                        where=where))
    for other in sorted(set(options) - {*_OPTION_KEYWORD, "minLength", "maxLength", "pattern"}):
        if other not in ("format", "timezone", "defaultTimezone"):
            draft.unsupported.append(Unsupported(other, where, "no pandera Field keyword says it: remove the "
                                                               "option or add a custom check by hand"))
    for rule in prop.get("quality") or []:
        name = str(rule.get("name") or rule.get("metric") or rule.get("type") or "unnamed")
        _safely(draft, name, where, lambda r=rule: _read_rule(r, dtype, draft, where=where))
    return draft


def _safely(draft: FieldDraft, rule: str, where: str, read: Any) -> None:
    """Run ``read``; a value it cannot use (a bad date, a check's missing statistic) makes the
    rule unsupported, with the fix."""
    try:
        read()
    except (KeyError, TypeError, ValueError) as exc:
        draft.unsupported.append(Unsupported(rule, where, f"its value cannot be read ({type(exc).__name__}: {exc}): "
                                                          "write it as the column's type (dates as ISO text)"))


def _must_be_zero(rule: Mapping[str, Any]) -> bool:
    return rule.get("mustBe") == 0 or rule.get("mustBeLessOrEqualTo") == 0 or rule.get("mustBeLessThan") == 1


def _read_rule(rule: Mapping[str, Any], dtype: pl.DataType, draft: FieldDraft, *, where: str) -> None:
    name = str(rule.get("name") or rule.get("metric") or rule.get("type") or "unnamed")
    warning = rule.get("severity") == "warning"
    kind, metric, args = rule.get("type", "library"), rule.get("metric") or rule.get("rule"), rule.get("arguments") or {}
    carried = next((p.get("value") for p in rule.get("customProperties") or []
                    if p.get("property") == PANDERA_CHECK), None)
    if isinstance(carried, Mapping) and carried.get("name") in _FIELD_KEYWORD:
        stats = {k: typed(v, dtype) for k, v in carried.items() if k != "name"}
        check = str(carried["name"])
        draft.add(_FIELD_KEYWORD[check], _field_value(check, stats), warning=warning, rule=name, where=where)
    elif kind == "library" and metric == "invalidValues" and _must_be_zero(rule) and "validValues" in args:
        draft.add("isin", typed(list(args["validValues"]), dtype), warning=warning, rule=name, where=where)
    elif kind == "library" and metric == "invalidValues" and _must_be_zero(rule) and "pattern" in args:
        pattern = str(args["pattern"])
        draft.add("str_matches" if pattern.startswith("^") else "str_contains", pattern, warning=warning,
                  rule=name, where=where)
    elif kind == "library" and metric == "duplicateValues" and _must_be_zero(rule):
        draft.add("unique", True, warning=warning, rule=name, where=where)
    elif kind == "library" and metric in ("nullValues", "missingValues") and _must_be_zero(rule):
        draft.add("nullable", False, warning=warning, rule=name, where=where)
    else:
        draft.unsupported.append(Unsupported(name, where, _fix_for(kind, metric, carried)))


def _fix_for(kind: Any, metric: Any, carried: Any) -> str:
    if isinstance(carried, Mapping):
        return (f"it describes the custom pandera check '{carried.get('name')}', whose code is not in the document: "
                "add it to the generated class as a @pa.check or @pa.dataframe_check")
    if kind == "library":
        return (f"a pandera Field checks every row: write metric {metric!r} with mustBe: 0, or add a custom check by "
                "hand")
    return f"a {kind} rule has no pandera Field keyword: add it to the generated class as a custom check by hand"


def _field_value(check: str, stats: Mapping[str, Any]) -> Any:
    if check in ("equal_to", "not_equal_to"):
        return stats["value"]
    if check in ("greater_than", "greater_than_or_equal_to"):
        return stats["min_value"]
    if check in ("less_than", "less_than_or_equal_to"):
        return stats["max_value"]
    if check == "isin":
        return list(stats["allowed_values"])
    if check == "notin":
        return list(stats["forbidden_values"])
    if check in ("str_matches", "str_contains"):
        return stats["pattern"]
    if check in ("str_startswith", "str_endswith"):
        return stats["string"]
    if check == "str_length" and stats.get("exact_value") is not None:
        return stats["exact_value"]
    return {k: v for k, v in stats.items() if v is not None and k != "exact_value"}


def frame_rules(rules: Iterable[Mapping[str, Any]], columns: Iterable[str], *,
                where: str) -> tuple[list[str] | None, list[Unsupported]]:
    """A schema's rules: its ``Config.unique`` columns (a ``duplicateValues`` rule over several
    properties), and the rules no generated class can declare."""
    unique: list[str] | None = None
    unsupported: list[Unsupported] = []
    known = set(columns)
    for rule in rules:
        name = str(rule.get("name") or rule.get("metric") or rule.get("type") or "unnamed")
        args = rule.get("arguments") or {}
        props = args.get("properties")
        if (rule.get("type", "library") == "library" and rule.get("metric") == "duplicateValues"
                and _must_be_zero(rule) and isinstance(props, list) and all(isinstance(p, str) for p in props)
                and set(props) <= known and unique is None):
            unique = [str(p) for p in props]
            continue
        carried = next((p.get("value") for p in rule.get("customProperties") or []
                        if p.get("property") == PANDERA_CHECK), None)
        unsupported.append(Unsupported(name, where, _fix_for(rule.get("type", "library"), rule.get("metric"),
                                                             carried)))
    return unique, unsupported
