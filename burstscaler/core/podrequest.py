"""A pod's effective request, the way kube-scheduler adds it up, as one vector of the snapshot.

Why: the fit arithmetic needs one number per resource per replica. Init containers run one after
another, so the largest one counts, not their sum; regular containers run together and add up; the
RuntimeClass overhead comes on top. A pod always takes one slot of the node's pod limit.
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
) -> dict[str, float]:
    """``max(sum of containers, max of init containers) + overhead`` per resource, plus ``pods: 1``."""
    skip = set(ignored)
    names = {name for container in [*containers, *init_containers] for name in container}
    names |= set(overhead or {})
    result: dict[str, float] = {}
    for name in sorted(names - skip - {snapshot.PODS}):
        regular = sum(float(container.get(name, 0)) for container in containers)
        init = max((float(container.get(name, 0)) for container in init_containers), default=0.0)
        result[name] = max(regular, init) + float((overhead or {}).get(name, 0))
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
