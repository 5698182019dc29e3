"""Cost reports: rows (pure) and renderers (terminal table, CSV, JSON, self-contained HTML).

Rule: rows are computed by pure functions; renderers only format. No kopf, no Kubernetes client.
"""
