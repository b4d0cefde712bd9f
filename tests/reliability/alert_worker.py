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
    from jobs.config import load_config

    config = load_config()  # this process is an entry point: it reads the config once
    risk = pd.DataFrame({"region": args.regions, "series": "fatalities", "p_any_3": args.value})
    store = open_store(config=config.data)
    evaluate_alerts(store.engine, risk, refit_id=args.refit, config=config.alerts)
    store.close()


if __name__ == "__main__":
    main()
