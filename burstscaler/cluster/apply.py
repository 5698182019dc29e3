"""Apply one policy's slice of a plan: which calls, in which order, then make them.

`actions` is pure (targets in, ordered actions out) so the order rules are tested without an API:
0. placeholders (the bridge) shrink first: the room they hold goes to the base pods that replace burst;
1. the twin is created (with its replicas) when burst is wanted and there is none;
2. a stale twin gets the base's current template (image rollouts reach burst pods); an existing twin
   without its two owner references (its policy and its base: ``twin.owner_references``) gets them, so a
   deletion of its policy cannot collect it before the hand-back (issue 17);
3. burst shrinks before base does (scale-in burst first; a completed drain-back lowers burst here);
4. base changes next; a drain-back move raises base in the same request that records the move on the
   base workload, so a restart can never see one without the other; the record is cleared once done;
5. burst grows;
6. placeholders last: created lazily (only when some are wanted), refreshed when the base's requests or
   placement changed, grown. Never deleted: at 0 replicas they wait, and go with their policy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from burstscaler.cluster import kube

DRAIN_ANNOTATION = "burstscaler.io/drain-back"


@dataclasses.dataclass(frozen=True)
class Targets:
    """Where one policy's workloads are and where the plan wants them."""

    kind: str
    namespace: str
    base_name: str
    base_current: int
    base_target: int
    twin_name: str
    twin_current: int | None  # None: there is no twin
    twin_target: int
    twin_body: Mapping[str, Any] | None  # the rendered twin, used to create or refresh it
    twin_stale: bool = False
    twin_owners: Mapping[str, Any] | None = None  # a merge patch giving the twin its owners; None: it has them
    drain_record: str | None = None  # set the base's drain-back record to this (a move starts)
    drain_recorded: bool = False  # the base carries a record now
    drain_in_flight: bool = False  # the plan still has a move in flight
    placeholder_name: str | None = None  # the policy's placeholder Deployment; None: no bridge for it
    placeholder_current: int | None = None  # None: there is no placeholder Deployment
    placeholder_target: int = 0
    placeholder_body: Mapping[str, Any] | None = None  # the rendered placeholder, to create or refresh it
    placeholder_stale: bool = False


@dataclasses.dataclass(frozen=True)
class Action:
    """One API call: `verb` on `name`, with the replicas or body it needs."""

    verb: str  # create-twin | refresh-twin | own-twin | scale-twin | scale-base | patch-base | *-placeholder
    name: str
    replicas: int | None = None
    body: Mapping[str, Any] | None = None
    annotation: str | None = None

    def __str__(self) -> str:
        detail = f" to {self.replicas}" if self.replicas is not None else ""
        return f"{self.verb} {self.name}{detail}"


def actions(targets: Targets) -> list[Action]:
    """The calls that take the workloads from current to target, in a make-before-break order."""
    t = targets
    result: list[Action] = []
    held = t.placeholder_current
    if t.placeholder_name is not None and held is not None and t.placeholder_target < held:
        result.append(Action("scale-placeholder", t.placeholder_name, replicas=t.placeholder_target))
    twin_now = t.twin_current
    if twin_now is None and t.twin_target > 0 and t.twin_body is not None:
        result.append(Action("create-twin", t.twin_name, replicas=t.twin_target, body=t.twin_body))
        twin_now = t.twin_target
    elif twin_now is not None and t.twin_stale and t.twin_body is not None:
        result.append(Action("refresh-twin", t.twin_name, body=t.twin_body))
    if t.twin_current is not None and t.twin_owners is not None:
        result.append(Action("own-twin", t.twin_name, body=t.twin_owners))
    if twin_now is not None and t.twin_target < twin_now:
        result.append(Action("scale-twin", t.twin_name, replicas=t.twin_target))
    if t.drain_record is not None:
        result.append(Action("patch-base", t.base_name, replicas=t.base_target, annotation=t.drain_record))
    elif t.drain_recorded and not t.drain_in_flight:
        result.append(Action("patch-base", t.base_name, replicas=t.base_target, annotation=None))
    elif t.base_target != t.base_current:
        result.append(Action("scale-base", t.base_name, replicas=t.base_target))
    if twin_now is not None and t.twin_target > twin_now:
        result.append(Action("scale-twin", t.twin_name, replicas=t.twin_target))
    result.extend(_placeholder_growth(t))
    return result


def _placeholder_growth(t: Targets) -> list[Action]:
    if t.placeholder_name is None:
        return []
    if t.placeholder_current is None:
        if t.placeholder_target > 0 and t.placeholder_body is not None:
            return [
                Action("create-placeholder", t.placeholder_name, replicas=t.placeholder_target, body=t.placeholder_body)
            ]
        return []
    grown: list[Action] = []
    if t.placeholder_stale and t.placeholder_body is not None:
        grown.append(Action("refresh-placeholder", t.placeholder_name, body=t.placeholder_body))
    if t.placeholder_target > t.placeholder_current:
        grown.append(Action("scale-placeholder", t.placeholder_name, replicas=t.placeholder_target))
    return grown


def apply(planned: list[Action], *, kind: str, namespace: str, workloads: kube.Workloads) -> None:
    """Make the calls in order; the first failure stops the rest (the next tick re-plans from there)."""
    for action in planned:
        if action.verb == "create-twin":
            assert action.body is not None
            workloads.create({**action.body, "spec": {**action.body["spec"], "replicas": action.replicas}})
        elif action.verb in ("refresh-twin", "refresh-placeholder"):
            assert action.body is not None
            workloads.replace_template(action.body)
        elif action.verb == "own-twin":
            assert action.body is not None
            workloads.patch(kind, namespace, action.name, action.body)
        elif action.verb == "create-placeholder":
            assert action.body is not None
            workloads.create({**action.body, "spec": {**action.body["spec"], "replicas": action.replicas}})
        elif action.verb == "scale-placeholder":
            assert action.replicas is not None
            # Always a Deployment, whatever the base's kind.
            workloads.scale("Deployment", namespace, action.name, action.replicas)
        elif action.verb in ("scale-twin", "scale-base"):
            assert action.replicas is not None
            workloads.scale(kind, namespace, action.name, action.replicas)
        elif action.verb == "patch-base":
            workloads.patch(
                kind,
                namespace,
                action.name,
                {
                    "spec": {"replicas": action.replicas},
                    "metadata": {"annotations": {DRAIN_ANNOTATION: action.annotation}},
                },
            )
        else:
            raise ValueError(f"unknown action {action.verb!r}")
