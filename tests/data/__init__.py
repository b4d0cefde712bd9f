"""Tests of the data layer: validation, store, ingest, demo data, CLI."""
