"""The three patch formats of the Kubernetes API, applied to plain dicts.

Pure: no I/O. KMock 0.8 merges every PATCH body as a dict, whatever its content type, so a
JSON-patch (a list of operations, which Kopf sends for finalizers) cannot be applied at all.
Here each format gets its own semantics:

- ``application/json-patch+json``: RFC 6902 (add, remove, replace, move, copy, test); a failed
  ``test`` raises :class:`PatchTestFailed` (the API answers 422, which Kopf expects);
- ``application/merge-patch+json``: RFC 7386 (``null`` deletes a key, lists are replaced);
- ``application/strategic-merge-patch+json``: a merge patch whose lists are merged by the merge
  keys of the built-in types (containers by name, conditions by type, finalizers as a set, ...)
  and which understands the ``$patch``, ``$setElementOrder`` and ``$deleteFromPrimitiveList``
  directives that ``kubectl apply`` sends. Good enough for kubectl and the official client;
  not a full implementation of the per-type patch strategies.
"""

from __future__ import annotations

import copy
from typing import Any

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

# Lists of objects merged by a key, as declared by `patchMergeKey` in the built-in types.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "ports": "containerPort",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
}
# Lists of scalars merged as sets (`patchStrategy: merge` on a list of strings).
_SET_LISTS = {"finalizers"}


class PatchError(ValueError):
    """A patch that cannot be applied to the object (the API answers 422)."""


class PatchTestFailed(PatchError):
    """A JSON-patch `test` operation found another value (optimistic concurrency lost)."""


def apply(obj: dict[str, Any], patch: Any, *, content_type: str) -> dict[str, Any]:
    """Return a patched deep copy of `obj`; `obj` itself is left untouched."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == JSON_PATCH:
        return apply_json_patch(obj, patch)
    if kind == STRATEGIC_MERGE_PATCH:
        return apply_strategic_merge_patch(obj, patch)
    if kind in (MERGE_PATCH, "application/json", ""):
        return apply_merge_patch(obj, patch)
    raise UnsupportedPatchType(kind)


class UnsupportedPatchType(ValueError):
    """Server-side apply and other formats are not emulated (the API answers 415)."""


def apply_merge_patch(obj: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def apply_strategic_merge_patch(obj: Any, patch: Any) -> Any:
    """A strategic merge patch for the common built-in merge keys (see the module docstring)."""
    return _strategic(copy.deepcopy(obj), patch, field=None)


def _strategic(obj: Any, patch: Any, *, field: str | None) -> Any:
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        if patch.get("$patch") == "delete":
            return None
        result = obj if isinstance(obj, dict) else {}
        retain = patch.get("$retainKeys")
        for key, value in patch.items():
            if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
                continue
            if key.startswith("$deleteFromPrimitiveList/"):
                name = key.split("/", 1)[1]
                result[name] = [item for item in result.get(name, []) if item not in value]
                continue
            if value is None:
                result.pop(key, None)
            else:
                merged = _strategic(result.get(key), value, field=key)
                if merged is None:
                    result.pop(key, None)
                else:
                    result[key] = merged
        if retain is not None:
            result = {k: v for k, v in result.items() if k in retain}
        return result
    if isinstance(patch, list) and isinstance(obj, list):
        if field in _SET_LISTS:
            return obj + [item for item in patch if item not in obj]
        merge_key = _MERGE_KEYS.get(field or "")
        if merge_key is not None and all(isinstance(item, dict) for item in patch + obj):
            return _merge_list(obj, patch, merge_key=merge_key, field=field)
    if isinstance(patch, list):
        return [_strip_directives(item) for item in patch if not _is_delete(item)]
    return copy.deepcopy(patch)


def _merge_list(obj: list[Any], patch: list[Any], *, merge_key: str, field: str | None) -> list[Any]:
    if any(item.get("$patch") == "replace" for item in patch):
        return [_strip_directives(item) for item in patch if item.get("$patch") != "replace"]
    result = list(obj)
    for item in patch:
        index = next((i for i, old in enumerate(result) if old.get(merge_key) == item.get(merge_key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = _strategic(result[index], item, field=field)
    return result


def _is_delete(item: Any) -> bool:
    return isinstance(item, dict) and item.get("$patch") == "delete"


def _strip_directives(item: Any) -> Any:
    if isinstance(item, dict):
        return {k: _strip_directives(v) for k, v in item.items() if not k.startswith("$")}
    if isinstance(item, list):
        return [_strip_directives(v) for v in item]
    return copy.deepcopy(item)


def apply_json_patch(obj: dict[str, Any], ops: Any) -> dict[str, Any]:
    """RFC 6902 JSON patch."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc: Any = copy.deepcopy(obj)
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "test":
            if _resolve(doc, path) != op.get("value"):
                raise PatchTestFailed(f"testing value {path} failed")
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind in ("add", "replace"):
            if kind == "replace":
                _resolve(doc, path)  # must exist
            doc = _add(doc, path, copy.deepcopy(op.get("value")), replace=kind == "replace")
        elif kind in ("move", "copy"):
            value = copy.deepcopy(_resolve(doc, op["from"]))
            if kind == "move":
                doc = _remove(doc, op["from"])
            doc = _add(doc, path, value, replace=False)
        else:
            raise PatchError(f"unknown JSON-patch operation {kind!r}")
    return doc


def _tokens(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _resolve(doc: Any, path: str) -> Any:
    for token in _tokens(path):
        doc = _child(doc, token, path)
    return doc


def _child(doc: Any, token: str, path: str) -> Any:
    try:
        if isinstance(doc, list):
            return doc[int(token)]
        return doc[token]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchError(f"path {path!r} does not exist") from None


def _add(doc: Any, path: str, value: Any, *, replace: bool) -> Any:
    tokens = _tokens(path)
    if not tokens:
        return value
    parent = doc
    for token in tokens[:-1]:
        parent = _child(parent, token, path)
    last = tokens[-1]
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif replace:
            parent[int(last)] = value
        else:
            index = int(last)
            if index > len(parent):
                raise PatchError(f"index {index} out of range in {path!r}")
            parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise PatchError(f"cannot add into a scalar at {path!r}")
    return doc


def _remove(doc: Any, path: str) -> Any:
    tokens = _tokens(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = doc
    for token in tokens[:-1]:
        parent = _child(parent, token, path)
    _child(parent, tokens[-1], path)  # must exist
    if isinstance(parent, list):
        del parent[int(tokens[-1])]
    else:
        del parent[tokens[-1]]
    return doc
