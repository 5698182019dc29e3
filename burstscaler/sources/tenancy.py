"""Namespace pinning of a tenant's PromQL: every series selector gets ``namespace="<policy's namespace>"``.

A BurstPolicy's query runs on the operator-wide Prometheus with the operator's credentials, which see
every namespace; its values and series labels come back in the policy's status. With
``--prometheus-tenancy namespace`` each vector selector of the query is given the policy's namespace as
an extra label matcher, as prom-label-proxy does in front of Prometheus, so a tenant reads only series of
its own namespace: ``rate(http_requests_total{job="web"}[1m])`` becomes
``rate(http_requests_total{namespace="shop",job="web"}[1m])``, a bare ``up`` becomes
``up{namespace="shop"}``, and ``{__name__=~".+"}`` only the namespace's series. A matcher the tenant wrote
on ``namespace`` stays and is ANDed with ours, so naming another namespace yields nothing.

Why a rewriter here rather than only documenting prom-label-proxy: it needs no extra component, and
it pins exactly the policy's namespace, which a proxy in front of a shared Prometheus can only do with
one proxy (or one header) per tenant. It is a tokenizer, not a full parser: it knows where selectors
can be (metric names, ``{...}`` blocks) and where names are not selectors (function calls, label lists
of ``by``/``without``/``on``/``ignoring``/``group_left``/``group_right``, keywords, durations, strings).
Anything it cannot tokenize is refused (``Unpinnable``): it fails closed, never passing a query unpinned.
Pure string work: no I/O.
"""

from __future__ import annotations

import re

#: Words that are never metric names at the place they appear (operators, aggregations, modifiers).
KEYWORDS = frozenset(
    {
        "and", "or", "unless", "atan2", "bool", "offset", "by", "without", "on", "ignoring",
        "group_left", "group_right", "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
        "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio", "start", "end", "inf", "nan",
    }
)  # fmt: skip
#: Keywords followed by a parenthesised list of label names (no selectors inside).
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)?)
  | (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<open>[({\[])
  | (?P<close>[)}\]])
  | (?P<op>==|!=|=~|!~|<=|>=|[-+*/%^<>=,@:])
    """,
    re.VERBOSE,
)


class Unpinnable(ValueError):
    """A query the pinner cannot tokenize; it is refused rather than run unpinned."""


def pin(query: str, *, namespace: str) -> str:
    """`query` with ``namespace="<namespace>"`` added to every series selector (see the module docstring)."""
    matcher = f'namespace="{_quote(namespace)}"'
    tokens = _tokens(query)
    _check_balanced(tokens)
    out: list[str] = []
    index = 0
    depth_label_list = 0  # > 0 inside the parentheses of a by(...)/on(...) label list
    while index < len(tokens):
        kind, text = tokens[index]
        following = _next_significant(tokens, index)
        if depth_label_list:
            out.append(text)
            if kind == "open":
                depth_label_list += 1
            elif kind == "close":
                depth_label_list -= 1
            index += 1
            continue
        if kind == "name" and text.lower() in _LABEL_LISTS and following is not None and tokens[following][1] == "(":
            out.extend(text for _, text in tokens[index:following])
            out.append("(")
            depth_label_list = 1
            index = following + 1
            continue
        if kind == "open" and text == "{":
            # A selector's matchers, with or without a metric name before them.
            out.append("{" + matcher)
            close = _matching(tokens, index)
            inner = "".join(text for _, text in tokens[index + 1 : close])
            out.append(("," + inner) if inner.strip() else "")
            out.append("}")
            index = close + 1
            continue
        if kind == "open" and text == "[":
            close = _matching(tokens, index)  # a range or subquery: durations only
            out.extend(text for _, text in tokens[index : close + 1])
            index = close + 1
            continue
        if kind == "name" and text.lower() not in KEYWORDS:
            next_text = tokens[following][1] if following is not None else ""
            if next_text == "(":
                out.append(text)  # a function call
            elif next_text == "{":
                out.append(text)  # its matchers follow: pinned at the "{"
            else:
                out.append(text + "{" + matcher + "}")  # a bare metric name
            index += 1
            continue
        out.append(text)
        index += 1
    return "".join(out)


def _tokens(query: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            raise Unpinnable(f"cannot read the query at {query[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group()))
        position = match.end()
    return tokens


def _check_balanced(tokens: list[tuple[str, str]]) -> None:
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack: list[str] = []
    for kind, text in tokens:
        if kind == "open":
            stack.append(pairs[text])
        elif kind == "close" and (not stack or stack.pop() != text):
            raise Unpinnable(f"unbalanced {text!r}")
    if stack:
        raise Unpinnable("an opened bracket is never closed")


def _next_significant(tokens: list[tuple[str, str]], index: int) -> int | None:
    for later in range(index + 1, len(tokens)):
        if tokens[later][0] != "space":
            return later
    return None


def _matching(tokens: list[tuple[str, str]], index: int) -> int:
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack = [pairs[tokens[index][1]]]
    for later in range(index + 1, len(tokens)):
        kind, text = tokens[later]
        if kind == "open":
            stack.append(pairs[text])
        elif kind == "close":
            if text != stack.pop():
                raise Unpinnable(f"unbalanced {text!r}")
            if not stack:
                return later
    raise Unpinnable("an opened bracket is never closed")


def _quote(text: str) -> str:
    # PromQL string literals use Go escaping: a backslash or a quote must be escaped.
    return text.replace("\\", "\\\\").replace('"', '\\"')
