"""A tile map of the watch list: one square per region, placed next to its neighbours.

The registry knows which regions share a border but holds no shapes, and the bulletin must
render with no network, so the map is a grid laid out from the neighbour graph: the best
connected region first, then each neighbour in the free cell closest to the neighbours
already placed. Regions with no neighbour in the set (a country above its regions) go on a
row of their own underneath. Deterministic: the same regions give the same map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

Cell = tuple[int, int]

_AROUND: tuple[Cell, ...] = ((1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))


def tile_layout(regions: Sequence[str], neighbours: Mapping[str, Sequence[str]]) -> dict[str, Cell]:
    """Region → (column, row), every column and row ≥ 0.

    Args:
        regions: region ids to place.
        neighbours: region → ids sharing a border (ids outside ``regions`` are ignored).
    """
    chosen = sorted(set(regions))
    links = {r: sorted(n for n in neighbours.get(r, ()) if n in chosen and n != r) for r in chosen}
    linked = [r for r in chosen if links[r]]
    placed: dict[str, Cell] = {}
    taken: set[Cell] = set()
    while True:
        todo = [r for r in linked if r not in placed]
        if not todo:
            break
        seed = max(todo, key=lambda r: (len(links[r]), [-ord(c) for c in r]))
        start = (max((c for c, _ in taken), default=-2) + 2, 0) if taken else (0, 0)
        placed[seed], queue = start, [seed]
        taken.add(start)
        while queue:
            current = queue.pop(0)
            for region in links[current]:
                if region in placed:
                    continue
                cell = _best_cell(placed[current], region, links, placed, taken)
                placed[region] = cell
                taken.add(cell)
                queue.append(region)
    cols = [c for c, _ in placed.values()] or [0]
    rows = [r for _, r in placed.values()] or [-1]
    shift_c, shift_r = -min(cols), -min(rows)
    out = {r: (c + shift_c, row + shift_r) for r, (c, row) in placed.items()}
    bottom = (max(rows) + shift_r + 1) if placed else 0
    for i, region in enumerate(r for r in chosen if r not in out):
        out[region] = (i, bottom)
    return out


def _best_cell(
    anchor: Cell,
    region: str,
    links: Mapping[str, Sequence[str]],
    placed: Mapping[str, Cell],
    taken: set[Cell],
) -> Cell:
    """The free cell near ``anchor`` closest to ``region``'s neighbours already placed."""
    friends = [placed[n] for n in links[region] if n in placed]
    for ring in range(1, 6):
        cells = [
            (anchor[0] + dc * ring, anchor[1] + dr * ring)
            for dc, dr in _AROUND
            if (anchor[0] + dc * ring, anchor[1] + dr * ring) not in taken
        ]
        if cells:
            return min(
                cells,
                key=lambda c: sum(abs(c[0] - f[0]) + abs(c[1] - f[1]) for f in friends),
            )
    column = max(c for c, _ in taken) + 1  # pragma: no cover - 8 × 5 cells all taken
    return (column, anchor[1])


def tile_map_svg(
    layout: Mapping[str, Cell],
    fills: Mapping[str, tuple[str, str]],
    labels: Mapping[str, str],
    titles: Mapping[str, str],
    *,
    caption: str,
    cell: int = 64,
) -> str:
    """The map as inline SVG (scales to its box; every text escaped).

    Args:
        layout: region → (column, row) from :func:`tile_layout`.
        fills: region → (background, text colour); regions missing are drawn grey.
        labels: region → short label inside the tile (two lines at most are shown).
        titles: region → hover text.
        caption: the SVG's accessible title.
        cell: tile size in SVG units.
    """
    if not layout:
        return ""
    width = (max(c for c, _ in layout.values()) + 1) * cell
    height = (max(r for _, r in layout.values()) + 1) * cell
    parts = []
    for region, (col, row) in sorted(layout.items()):
        background, ink = fills.get(region, ("#e0e0e0", "#222222"))
        x, y = col * cell, row * cell
        word = labels.get(region, region).split(" ", 1)[0]
        name = word if len(word) <= 12 else word[:11] + "…"  # cut before escaping
        size = "" if len(name) <= 8 else " long"  # a long name in a smaller face
        text = (
            f'<text x="{x + cell / 2}" y="{y + cell / 2 - 2}" text-anchor="middle" '
            f'fill="{ink}" class="tile{size}">{escape(name)}</text>'
        )
        text += (
            f'<text x="{x + cell / 2}" y="{y + cell / 2 + 11}" text-anchor="middle" '
            f'fill="{ink}" class="tile small">{escape(region)}</text>'
        )
        parts.append(
            f'<g data-region="{escape(region)}"><rect x="{x + 2}" y="{y + 2}" '
            f'width="{cell - 4}" height="{cell - 4}" rx="6" fill="{background}">'
            f"<title>{escape(titles.get(region, region))}</title></rect>{text}</g>"
        )
    return (
        f'<svg class="chart tilemap" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" style="max-width: {width}px">'
        f"<title>{escape(caption)}</title>{''.join(parts)}</svg>"
    )
