"""Name → id resolution and the shipped registry (Mali, Burkina Faso, Niger admin1)."""

from __future__ import annotations

import pandas as pd
import pytest

from data.names import NameResolver, normalise
from data.regions import load_default_registry
from riskcast.errors import InputError
from tests.conftest import shared_file
from tests.data.sources.helpers import raw_workbook, resolver


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mopti", "ML05"),
        ("MOPTI", "ML05"),
        ("mopti", "ML05"),
        ("Mopti region", "ML05"),
        ("Mopti Region", "ML05"),
        ("Région de Ségou", "ML04"),
        ("Segou", "ML04"),
        ("SÉGOU", "ML04"),
        ("Tombouctou/Timbuktu", "ML06"),
        ("Timbuktu", "ML06"),
        ("Tombouctou", "ML06"),
        ("Menaka", "ML10"),
        ("Ménaka", "ML10"),
        ("Taoudenni", "ML11"),
        ("District de Bamako", "ML09"),
        ("ML05", "ML05"),
        ("Centre-Nord", "BF49"),
        ("Centre North", "BF49"),
        ("centre nord", "BF49"),
        ("Tillaberi", "NE006"),
        ("Tillabéri", "NE006"),
    ],
)
def test_admin1_spellings_resolve(name: str, expected: str) -> None:
    assert resolver().resolve(name, file="test.csv", row=2) == expected


def test_scope_limits_matches_to_the_country() -> None:
    names = resolver()
    assert names.resolve("Sahel", within="BFA", file="f", row=2) == "BF56"
    with pytest.raises(InputError, match="unknown region 'Sahel' in MLI"):
        names.resolve("Sahel", within="MLI", file="f", row=2)


def test_id_matches_only_as_written() -> None:
    names = resolver()
    assert names.resolve("Est", within="BFA", file="f", row=2) == "BF52"
    assert names.resolve("Est", file="f", row=2) == "BF52"  # "EST" (Estonia) is an id only
    assert names.resolve("EST", file="f", row=2) == "EST"


def test_unknown_name_names_file_row_and_three_closest() -> None:
    with pytest.raises(InputError) as caught:
        resolver().resolve("Moptii", within="MLI", file="events.csv", row=17, field="admin1")
    message = str(caught.value)
    assert message.startswith("file events.csv, row 17, field 'admin1': unknown region 'Moptii'")
    closest = message.split("closest known names: ")[1].split(". ")[0].split(", ")
    assert len(closest) == 3
    assert closest[0] == "Mopti (ML05)"


def test_blank_name_is_an_error_not_a_guess() -> None:
    with pytest.raises(InputError, match="blank"):
        resolver().resolve("  ", file="f", row=3)


def test_column_resolution_resolves_each_name_once_and_keeps_blanks() -> None:
    names = resolver()
    calls: list[str] = []
    original = names.resolve

    def counting(name: str, **kwargs: object) -> str:
        calls.append(name)
        return original(name, **kwargs)

    names.resolve = counting  # type: ignore[method-assign]
    column = pd.Series(["Mopti", "Gao", None, "Mopti", " ", "Gao"] * 500)
    out = names.resolve_column(column, within="MLI", file="f")
    assert sorted(calls) == ["Gao", "Mopti"]
    assert out.iloc[:6].tolist() == ["ML05", "ML07", None, "ML05", None, "ML07"]


def test_column_resolution_error_names_the_first_bad_row() -> None:
    column = pd.Series(["Mopti", "Gao", "Nowhere", "Nowhere"])
    with pytest.raises(InputError, match=r"row 4, field 'admin1': unknown region 'Nowhere'"):
        resolver().resolve_column(column, within="MLI", file="f.csv", field="admin1")


def test_column_resolution_non_strict_gives_na_for_unknown() -> None:
    out = resolver().resolve_column(
        pd.Series(["Soum", "East"]), within="BFA", file="f", strict=False
    )
    assert out.tolist() == [None, "BF52"]


@pytest.mark.parametrize(
    ("name", "iso3"),
    [
        ("Mali", "MLI"),
        ("DR Congo (Zaire)", "COD"),
        ("Democratic Republic of Congo", "COD"),
        ("Congo", "COG"),
        ("Republic of Congo", "COG"),
        ("Ivory Coast", "CIV"),
        ("Cote D'Ivoire", "CIV"),
        ("Madagascar (Malagasy)", "MDG"),
        ("Yemen (North Yemen)", "YEM"),
        ("Russia (Soviet Union)", "RUS"),
        ("Serbia (Yugoslavia)", "SRB"),
        ("Kingdom of eSwatini (Swaziland)", "SWZ"),
        ("Cambodia (Kampuchea)", "KHM"),
        ("Myanmar (Burma)", "MMR"),
        ("Bosnia-Herzegovina", "BIH"),
        ("Antigua & Barbuda", "ATG"),
        ("United States of America", "USA"),
        ("Turkey", "TUR"),
        ("Niger", "NER"),
        ("Nigeria", "NGA"),
        ("Kosovo", "XKX"),
    ],
)
def test_country_spellings(name: str, iso3: str) -> None:
    assert resolver().country(name, file="f", row=2) == iso3


def test_unknown_country_names_closest_countries() -> None:
    with pytest.raises(InputError, match=r"file f, row 9: unknown country 'Malii'.*Mali \(MLI\)"):
        resolver().country("Malii", file="f", row=9)


def test_unassignable_country_gives_na_in_a_column() -> None:
    out = resolver().country_column(pd.Series(["Mali", "Kashmir", None]), file="f")
    assert out.iloc[0] == "MLI"
    assert out.iloc[1:].isna().all()


def test_normalise_folds_accents_case_and_punctuation() -> None:
    assert normalise("  Région de  SÉGOU ") == "region de segou"
    assert normalise("Cote D'Ivoire") == "cote d ivoire"


def test_registry_ships_sahel_admin1_with_symmetric_neighbours() -> None:
    registry = load_default_registry()
    for country, count in (("MLI", 11), ("BFA", 13), ("NER", 8)):
        assert len(registry.children(country)) == count
    assert registry.get("ML10").name == "Ménaka"
    assert registry.get("ML11").name == "Taoudénit"
    for region in registry:
        for neighbour in region.neighbours:
            assert neighbour in registry, (region.id, neighbour)
            assert region.id in registry.get(neighbour).neighbours, (region.id, neighbour)
    assert "BF56" in registry.neighbours("ML05")  # Mopti borders Burkina's Sahel region
    assert NameResolver(registry)._index  # no ambiguous spelling across the registry
    assert all(len(ids) == 1 for ids in NameResolver(registry)._index.values())


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["acled_mali_admin2_month_1997_2021.xlsx", "acled_bfa_admin2_month_1997_2021.xlsx"]
)
def test_registry_pcodes_match_acled_hdx_admin1_pcodes(name: str) -> None:
    table = raw_workbook(str(shared_file(name)))
    pairs = table[["Admin1", "Admin1 Pcode"]].drop_duplicates()
    names = resolver()
    for admin1, pcode in pairs.itertuples(index=False):
        assert pcode in names.registry
        assert names.resolve(admin1, file=name, row=0) == pcode
