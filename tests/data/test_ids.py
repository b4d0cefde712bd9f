"""The region-id rule (data/ids.py): known ids pass, new ones only on request and well formed."""

from __future__ import annotations

import pandas as pd
import pytest

from data.ids import check_region_ids, is_well_formed
from data.regions import load_default_registry
from riskcast.errors import InputError


@pytest.fixture(scope="module")
def registry():
    return load_default_registry()


def frame(*regions: object) -> pd.DataFrame:
    return pd.DataFrame({"region": list(regions), "_row": range(2, 2 + len(regions))})


@pytest.mark.parametrize(
    ("region_id", "ok"),
    [
        ("ML05", True),
        ("MLI", True),
        ("R00042", True),
        ("A" * 16, True),
        ("A", False),
        ("A" * 17, False),
        ("ml05", False),
        ("ML０５", False),
        ("5ML", False),
        ("ML 05", False),
        ("ML05\n", False),
        ("<script>", False),
    ],
)
def test_well_formed_ids(region_id: str, ok: bool) -> None:
    assert is_well_formed(region_id) is ok


def test_known_ids_pass_and_blanks_are_left_to_the_schema(registry) -> None:
    assert check_region_ids(frame("ML05", " MLI ", "", None), registry, file="f") == []


def test_new_ids_are_refused_unless_asked_for(registry) -> None:
    with pytest.raises(InputError, match=r"'ZZ99' \(row 3; closest: .*--new-regions") as refused:
        check_region_ids(frame("ML05", "ZZ99", "ZZ99"), registry, file="f.csv")
    assert (refused.value.file, refused.value.row, refused.value.field) == ("f.csv", 3, "region")
    assert check_region_ids(frame("ML05", "ZZ99"), registry, file="f", allow_new=True) == ["ZZ99"]


def test_malformed_new_ids_are_refused_even_when_asked_for(registry) -> None:
    hostile = "<svg onload=alert(1)>" + "x" * 1_000_000
    with pytest.raises(InputError, match="cannot be a new region: new ids are 2-16") as refused:
        check_region_ids(frame("ML05", "OK01", hostile), registry, file="f", allow_new=True)
    assert refused.value.row == 4
    assert len(str(refused.value)) < 400  # the megabyte is not echoed


def test_suggestions_are_bounded(registry) -> None:
    many = [f"ZZ{i:02d}" for i in range(50)]
    with pytest.raises(InputError, match="and 47 more") as refused:
        check_region_ids(frame(*many), registry, file="f")
    assert refused.value.message.count("closest:") == 3
