"""Data fingerprints identify the numbers scored, whatever their order or source label."""

from __future__ import annotations

from experiments.fingerprint import code_version, data_fingerprint, is_synthetic, set_hash


def test_fingerprint_ignores_order_and_source_but_not_values(panel) -> None:
    base = data_fingerprint(panel)
    assert data_fingerprint(panel.sample(frac=1, random_state=1)) == base
    assert data_fingerprint(panel.assign(source="ucdp")) == base
    changed = panel.copy()
    changed.loc[changed.index[5], "value"] += 1
    assert data_fingerprint(changed) != base
    assert data_fingerprint(panel.iloc[1:]) != base
    assert data_fingerprint(panel.iloc[:0]) != base


def test_synthetic_flag_hashes_and_code_version(panel) -> None:
    assert not is_synthetic(panel)
    assert is_synthetic(panel.assign(source="synthetic-demo"))
    assert set_hash(["2020-01", "2019-12"]) == set_hash(["2019-12", "2020-01", "2020-01"])
    assert code_version().startswith(("git:", "riskcast==", "unknown"))
