"""The cross-domain asset graph as an SVG: one column per depth, assets grouped by domain within
a column, each coloured by its state and linking to its asset page.

Drawn on the server (no script needed), so the page shows it however the browser is set up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from html import escape

from assets.graph import AssetGraph

#: Fill colour of each state (``governance`` outcomes, plus the dashboard's own).
STATE_COLOURS = {"materialized": "#2e9e5b", "gate_failed": "#d64545", "error": "#a31515", "skipped": "#e0a526",
                 "unchanged": "#2e9e5b", "stale": "#e07b26", "never run": "#9aa3ad"}
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 230, 26, 60, 10, 12


def depths(graph: AssetGraph) -> dict[str, int]:
    """Each asset's depth: 0 for roots, else one more than its deepest input in the graph."""
    depth: dict[str, int] = {}
    for key in graph.sorted(graph):
        ups = [depth[u] for u in graph.upstream(key) if u in depth]
        depth[key] = max(ups) + 1 if ups else 0
    return depth


def graph_svg(graph: AssetGraph, states: Mapping[str, str], href: str) -> str:
    """The SVG of ``graph``; ``href`` is the asset pages' prefix (the key is appended)."""
    depth = depths(graph)
    columns: dict[int, list[str]] = defaultdict(list)
    for key in sorted(depth, key=lambda k: (graph[k].spec.domain, k)):
        columns[depth[key]].append(key)
    where: dict[str, tuple[int, int]] = {}
    for col, keys in columns.items():
        for row, key in enumerate(keys):
            where[key] = (PAD + col * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    width = PAD * 2 + max(columns, default=0) * (NODE_W + GAP_X) + NODE_W
    height = PAD * 2 + max((len(k) for k in columns.values()), default=0) * (NODE_H + GAP_Y)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="asset-graph" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="asset graph">']
    for key in where:
        x2, y2 = where[key]
        for up in graph.upstream(key):
            if up in where:
                x1, y1 = where[up]
                sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
                mid = (sx + ex) / 2
                parts.append(f'<path class="edge" d="M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}" '
                             'fill="none" stroke="#8893a0" stroke-width="1.2"/>')
    for key, (x, y) in where.items():
        state = states.get(key, "never run")
        colour = STATE_COLOURS.get(state, "#9aa3ad")
        label = key if len(key) <= 32 else key[:31] + "…"
        parts.append(
            f'<a class="node" href="{escape(href + key)}" data-key="{escape(key)}" data-state="{escape(state)}">'
            f'<title>{escape(key)}: {escape(state)}</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="5" fill="{colour}"/>'
            f'<text x="{x + 8}" y="{y + 17}" fill="#fff" font-size="12">{escape(label)}</text></a>')
    parts.append("</svg>")
    return "".join(parts)
