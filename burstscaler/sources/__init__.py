"""Inputs to the core: metric sources (Prometheus) and the pending-pod signal.

Rule: I/O lives here, behind small protocols; results are handed to ``core`` as plain values.
Never imports kopf or the operator.
"""
