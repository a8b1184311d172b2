"""Persistence: SQLAlchemy 2.0 models, Alembic migrations and repository functions.

Nothing here imports Prefect. Engines are built by :func:`storage.db.make_engine`.
"""
