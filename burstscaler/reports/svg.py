"""Inline SVG charts, generated here so the HTML report opens with no network and no JavaScript.

Three shapes are enough for a simulation report: stacked areas with lines over them (load against
ready capacity by tier), plain lines (cumulative cost per strategy) and labelled points with interval
bars (cost against unserved demand). Pure string building.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 64, 16, 34, 28


@dataclasses.dataclass(frozen=True)
class Layer:
    """One series of a chart: a legend label, its values (NaN: no data) and a CSS colour."""

    label: str
    values: FloatArray
    color: str


def chart(
    *,
    xs: FloatArray,
    stacks: Sequence[Layer] = (),
    lines: Sequence[Layer] = (),
    x_ticks: Sequence[tuple[float, str]] = (),
    y_label: str = "",
    width: int = 900,
    height: int = 240,
) -> str:
    """An ``<svg>`` with ``stacks`` as stacked areas and ``lines`` drawn over them, sharing ``xs``."""
    stacked = np.cumsum([np.nan_to_num(layer.values) for layer in stacks], axis=0) if stacks else np.zeros((0, 0))
    tops = [float(np.nanmax(stacked))] if stacked.size else []
    tops += [float(np.nanmax(layer.values)) for layer in lines if np.any(~np.isnan(layer.values))]
    ticks = nice_ticks(max(tops, default=1.0))
    plot_w = width - _MARGIN_LEFT - _MARGIN_RIGHT
    plot_h = height - _MARGIN_TOP - _MARGIN_BOTTOM
    x_lo, x_hi = (float(xs[0]), float(xs[-1])) if xs.size > 1 else (0.0, 1.0)

    def px(x: Any) -> Any:
        return _MARGIN_LEFT + (np.asarray(x) - x_lo) / max(x_hi - x_lo, 1e-9) * plot_w

    def py(y: Any) -> Any:
        return _MARGIN_TOP + plot_h - np.asarray(y) / ticks[-1] * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="sans-serif" font-size="11">'
    ]
    for tick in ticks:
        y = float(py(tick))
        right = width - _MARGIN_RIGHT
        parts.append(f'<line x1="{_MARGIN_LEFT}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{_MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(tick)}</text>')
    for x, label in x_ticks:
        x_px = float(px(x))
        parts.append(
            f'<text x="{x_px:.1f}" y="{height - 8}" text-anchor="middle">{html.escape(label)}</text>'
            f'<line x1="{x_px:.1f}" x2="{x_px:.1f}" y1="{_MARGIN_TOP + plot_h}" y2="{_MARGIN_TOP + plot_h + 4}" '
            'stroke="#888"/>'
        )
    bottom = np.zeros(xs.size)
    for layer, top in zip(stacks, stacked, strict=True):
        outline = np.concatenate([np.stack([px(xs), py(top)], 1), np.stack([px(xs), py(bottom)], 1)[::-1]])
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in outline)
        parts.append(f'<polygon points="{points}" fill="{layer.color}" fill-opacity="0.75" stroke="none"/>')
        bottom = top
    for layer in lines:
        parts.append(
            f'<path d="{_path(px(xs), py(layer.values))}" fill="none" stroke="{layer.color}" stroke-width="1.4"/>'
        )
    parts.append(_legend([*stacks, *lines], y_label=y_label))
    parts.append("</svg>")
    return "".join(parts)


@dataclasses.dataclass(frozen=True)
class Point:
    """One labelled point with its interval on both axes (``(low, high)``; equal ends: no bar)."""

    label: str
    x: float
    y: float
    x_interval: tuple[float, float]
    y_interval: tuple[float, float]
    color: str


def scatter(points: Sequence[Point], *, x_label: str, y_label: str, width: int = 900, height: int = 320) -> str:
    """An ``<svg>`` of labelled points with interval bars (cost against unserved, one per strategy)."""
    x_ticks = nice_ticks(max([p.x_interval[1] for p in points] + [p.x for p in points], default=1.0))
    y_ticks = nice_ticks(max([p.y_interval[1] for p in points] + [p.y for p in points], default=1.0))
    plot_w = width - _MARGIN_LEFT - _MARGIN_RIGHT
    plot_h = height - _MARGIN_TOP - _MARGIN_BOTTOM

    def px(x: float) -> float:
        return _MARGIN_LEFT + x / x_ticks[-1] * plot_w

    def py(y: float) -> float:
        return _MARGIN_TOP + plot_h - y / y_ticks[-1] * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="sans-serif" font-size="11">'
    ]
    for tick in y_ticks:
        y = py(tick)
        parts.append(
            f'<line x1="{_MARGIN_LEFT}" x2="{width - _MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(f'<text x="{_MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(tick)}</text>')
    for tick in x_ticks:
        x = px(tick)
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{_number(tick)}</text>')
    for point in points:
        x, y = px(point.x), py(point.y)
        (x0, x1), (y0, y1) = point.x_interval, point.y_interval
        parts.append(f'<line x1="{px(x0):.1f}" x2="{px(x1):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{point.color}"/>')
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{py(y0):.1f}" y2="{py(y1):.1f}" stroke="{point.color}"/>')
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{point.color}"/>')
        parts.append(f'<text x="{x + 6:.1f}" y="{y - 6:.1f}">{html.escape(point.label)}</text>')
    parts.append(f'<text x="{_MARGIN_LEFT}" y="14" font-weight="bold">{html.escape(y_label)}</text>')
    parts.append(
        f'<text x="{width - _MARGIN_RIGHT}" y="{height - 20}" text-anchor="end" font-weight="bold">'
        f"{html.escape(x_label)}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def nice_ticks(top: float, *, count: int = 5) -> list[float]:
    """Round tick values from 0 up to at least ``top`` (steps of 1, 2 or 5 times a power of ten)."""
    if not top > 0 or math.isinf(top):
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(factor * magnitude for factor in (1, 2, 5, 10) if factor * magnitude >= raw)
    return [step * index for index in range(math.ceil(top / step - 1e-9) + 1)]


def _path(xs: FloatArray, ys: FloatArray) -> str:
    commands: list[str] = []
    pen_down = False
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        if math.isnan(y):
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
        pen_down = True
    return "".join(commands)


def _legend(layers: Sequence[Layer], *, y_label: str) -> str:
    parts = [f'<text x="{_MARGIN_LEFT}" y="14" font-weight="bold">{html.escape(y_label)}</text>']
    x = _MARGIN_LEFT + 8 + 7 * len(y_label)
    for layer in layers:
        parts.append(f'<rect x="{x}" y="5" width="12" height="10" fill="{layer.color}"/>')
        parts.append(f'<text x="{x + 16}" y="14">{html.escape(layer.label)}</text>')
        x += 28 + 7 * len(layer.label)
    return "".join(parts)


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"
