"""The BurstPolicy API: pydantic models of spec and status, and the CRD generated from them.

Rule: pure data. No I/O, no Kubernetes client, no kopf. Every other layer may import this one;
it imports none of them. The models are the single source of truth: ``crds/burstpolicy.yaml`` is
generated from them (``burstscaler crd``), never edited by hand.
"""
