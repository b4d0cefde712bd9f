"""Threshold alerts on escalation risk: rules, a persisted state machine, notifiers,
data-quality flags and precision/recall of the rule on backtests.

The weekly job calls :func:`assess_data_quality` on the panel and then
:func:`evaluate_alerts` on the refit's risk table.
"""

from alerts.evaluate import evaluate_alerts
from alerts.notifiers import Transition, notifiers_from_config
from alerts.precision import precision_recall_table
from alerts.quality import QualityFlag, assess_data_quality
from alerts.rules import AlertConfig, AlertRule
from alerts.state import create_alert_tables, list_alerts, list_deliveries, list_transitions

__all__ = [
    "AlertConfig",
    "AlertRule",
    "QualityFlag",
    "Transition",
    "assess_data_quality",
    "create_alert_tables",
    "evaluate_alerts",
    "list_alerts",
    "list_deliveries",
    "list_transitions",
    "notifiers_from_config",
    "precision_recall_table",
]
