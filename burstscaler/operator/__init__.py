"""The Kopf operator: handlers, indices and the planning tick.

Rule: the only package that imports kopf. Handlers stay a few lines: they read indices, call the
planning tick or ``cluster``, and write ``patch.status``.
"""
