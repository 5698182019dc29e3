"""The trace-driven cluster simulator and the baseline strategies it compares burstscaler with.

Rule: uses ``core`` for burstscaler's own decisions and never imports ``operator`` or ``cluster``
(import-linter enforces it). The model cluster schedules pods with its own first-fit, independent of
the core's fit, so the simulator checks the core rather than agreeing with it.
"""
