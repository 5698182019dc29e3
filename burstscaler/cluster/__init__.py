"""Kubernetes adapters: objects -> snapshot arrays, the burst twin's rendering, applying a plan.

Rule: talks to the Kubernetes API through the official client or plain dicts handed in by the
operator; never imports kopf. Decisions are made in ``core``; this package only translates and acts.
"""
