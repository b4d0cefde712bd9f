"""One alerts evaluation in its own process (``python -m tests.reliability.alert_worker``):
the production path (:func:`alerts.evaluate_alerts` with the notifiers of the active
config) on the home's database, for a risk table of the regions given."""

from __future__ import annotations

import argparse

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--refit", required=True)
    parser.add_argument("--value", type=float, default=0.9)
    parser.add_argument("regions", nargs="+")
    args = parser.parse_args()

    from alerts import evaluate_alerts
    from data.store import open_store

    risk = pd.DataFrame({"region": args.regions, "p_any_3": args.value})
    store = open_store()
    evaluate_alerts(store.engine, risk, refit_id=args.refit)
    store.close()


if __name__ == "__main__":
    main()
