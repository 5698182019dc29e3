"""End-to-end harness: a realistic Kubernetes API emulator and a cluster actor, for tests only.

- :mod:`.apiserver`: KMock's emulator with the gaps a Kopf operator hits filled in (listed there);
- :mod:`.hosting`: serve it from its own thread and loop, with a kubeconfig for every client;
- :mod:`.faults`: arm the next requests of one client (the operator by default) to fail or stall;
- :mod:`.structural`: the API server's pruning, defaulting and validation of a CRD's status;
- :mod:`.actor`: kube-controller-manager, kube-scheduler and kubelet in one small loop, with
  :mod:`.rollout` (Deployment sizes), :mod:`.ranking` (ReplicaSet victims) and :mod:`.binding`
  (placement by the kube-scheduler model, ``burstscaler.scheduler``);
- :mod:`.objects`: factories of nodes, workloads, services and the BurstPolicy CRD;
- :mod:`.client`: a raw-JSON REST client; :mod:`.waiting`: poll until a condition holds.

Independent of ``burstscaler.core`` by design: the e2e tests must not check the operator's core
with the core itself. The only product code used is the scheduler model (the judge), which never
imports the core either.
"""
