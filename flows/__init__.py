"""Prefect orchestration, settings and the ``newsflow`` command line."""
