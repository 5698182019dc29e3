"""The trace-driven cluster simulator and the baseline strategies it compares burstscaler with.

Rule: uses ``core`` for burstscaler's own decisions (and the one recommender every autoscaled strategy
shares) and never imports ``operator`` or ``cluster`` (import-linter enforces it). The model cluster
places pods with the kube-scheduler model ``burstscaler.scheduler``, independent of the core's fit, so
the simulator checks the core rather than agreeing with it.
"""
