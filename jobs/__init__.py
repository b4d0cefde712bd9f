"""Scheduled work: the weekly refit, daily ingest, their database lease and run records.

``jobs/`` sits right of ``experiments/`` and ``alerts/`` in the data flow: it orchestrates
the layers, it does not compute. ``service.py`` wires these jobs to HTTP and the CLI.
"""
