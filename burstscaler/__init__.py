"""burstscaler: bursts Kubernetes workloads onto a serverless virtual node and drains them back.

The package is layered (checked by import-linter, see pyproject.toml):
``cli -> operator -> cluster | sources | sim -> reports -> core -> api``.
"""

__version__ = "0.1.0"
