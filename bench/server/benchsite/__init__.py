"""The bench's own Django site: the project's settings and URLs plus two bench endpoints.

Importable as `benchsite` (bench/server is on the servers' PYTHONPATH), a name
no checkout of the project has, so that the same bench runs against another
checkout (`bench/run.py --project DIR`).
"""
