"""The tile map: neighbours sit next to each other, every region gets a cell of its own."""

from __future__ import annotations

from reports.tilemap import tile_layout, tile_map_svg
from tests.reports.bulletin_context import mali_registry


def test_mali_regions_each_get_a_cell_next_to_a_neighbour() -> None:
    registry = mali_registry()
    ids = [f"ML{k:02d}" for k in range(1, 11)] + ["MLI"]
    neighbours = {r.id: r.neighbours for r in registry}
    layout = tile_layout(ids, neighbours)
    assert set(layout) == set(ids)
    assert len(set(layout.values())) == len(ids)  # no two regions share a tile
    assert min(c for c, _ in layout.values()) == 0 and min(r for _, r in layout.values()) == 0
    for region in ids:
        near = [n for n in neighbours.get(region, ()) if n in layout]
        if near:  # at least one bordering region is in one of the 8 cells around it
            col, row = layout[region]
            assert any(max(abs(col - layout[n][0]), abs(row - layout[n][1])) == 1 for n in near)
    # the country borders none of its regions: it sits on the row underneath
    assert layout["MLI"][1] == max(r for _, r in layout.values())
    assert tile_layout(list(reversed(ids)), neighbours) == layout  # deterministic


def test_hostile_names_are_escaped_in_the_map() -> None:
    svg = tile_map_svg(
        {"X1": (0, 0)},
        {"X1": ("#fff", "#000")},
        {"X1": "<script>alert(1)</script>"},
        {"X1": "<b>t</b>"},
        caption="<i>c</i>",
    )
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    assert "&lt;script&gt;" in svg
