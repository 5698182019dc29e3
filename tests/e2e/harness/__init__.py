"""End-to-end harness: a realistic Kubernetes API emulator and a cluster actor, for tests only.

- :mod:`.apiserver`: KMock's emulator with the gaps a Kopf operator hits filled in (listed there);
- :mod:`.hosting`: serve it from its own thread and loop, with a kubeconfig for every client;
- :mod:`.faults`: arm the next requests to fail or stall;
- :mod:`.actor`: kube-controller-manager, kube-scheduler and kubelet in one small loop;
- :mod:`.objects`: factories of nodes, workloads, services and the BurstPolicy CRD;
- :mod:`.client`: a raw-JSON REST client; :mod:`.waiting`: poll until a condition holds.

Independent of ``burstscaler`` by design: the e2e tests must not check the operator's core with
the core itself.
"""
