"""Tests of the model zoo (forecast/models)."""
