"""A pod's effective request, the way kube-scheduler adds it up, as one vector of the snapshot.

Why: the fit arithmetic needs one number per resource per replica. Init containers run one after
another, so the largest one counts, not their sum; regular containers run together and add up; the
RuntimeClass overhead comes on top. Native sidecars (init containers with ``restartPolicy: Always``)
keep running: they add to the regular containers' sum, and every init container after one runs next
to the sidecars started before it (kube's ``resourcehelper.PodRequests``). A pod always takes one
slot of the node's pod limit.
Resources named in ``ignored`` (the scheduler's ignored extended resources) are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from burstscaler.core import snapshot


def effective(
    *,
    containers: Sequence[Mapping[str, float]],
    init_containers: Sequence[Mapping[str, float]] = (),
    overhead: Mapping[str, float] | None = None,
    ignored: Iterable[str] = (),
    restartable: Sequence[bool] = (),
) -> dict[str, float]:
    """``max(containers + sidecars, max of init steps) + overhead`` per resource, plus ``pods: 1``.

    ``restartable[i]`` says init container i is a native sidecar (missing entries: an ordinary one);
    an init step is an ordinary init container plus the sidecars started before it, or the sidecars
    so far when the step is a sidecar.
    """
    skip = set(ignored)
    names = {name for container in [*containers, *init_containers] for name in container}
    names |= set(overhead or {})
    flags = [bool(restartable[i]) if i < len(restartable) else False for i in range(len(init_containers))]
    result: dict[str, float] = {}
    for name in sorted(names - skip - {snapshot.PODS}):
        regular = sum(float(container.get(name, 0)) for container in containers)
        sidecars = 0.0
        init = 0.0
        for container, sidecar in zip(init_containers, flags, strict=True):
            amount = float(container.get(name, 0))
            if sidecar:
                sidecars += amount
                step = sidecars
            else:
                step = amount + sidecars
            init = max(init, step)
        result[name] = max(regular + sidecars, init) + float((overhead or {}).get(name, 0))
    result[snapshot.PODS] = 1.0
    return result


def vector(request: Mapping[str, float], *, resources: Sequence[str]) -> snapshot.FloatArray:
    """``request`` as a row over ``resources``; a resource it does not name is 0.

    A requested resource missing from ``resources`` is an error: it would silently stop counting.
    """
    missing = set(request) - set(resources)
    if missing:
        raise ValueError(f"request names resources the snapshot lacks: {sorted(missing)}")
    return np.array([float(request.get(name, 0.0)) for name in resources], dtype=np.float64)
