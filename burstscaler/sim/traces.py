"""Load traces: request counts over time from a CSV file, as a request rate on a regular grid.

A trace row says how many requests arrived during one interval (a minute for the NASA trace, a second
for the Azure one). The simulator needs requests per second at its own step, so a row's count is
spread evenly over its interval ("per-minute traces are spread over the minute") and then averaged
into simulation steps. Rows flagged as outages (``--skip-column``) and time slots with no row at all
are *missing data*, kept as NaN: the simulator neither counts them as zero load (which would reward
scaling to nothing) nor invents a value for them.

Errors are ``errors.TraceError`` with a message that names the file and the problem, because a user
who hands over the wrong file or column should see one line that says what to change.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import math
import pathlib

import numpy as np
import numpy.typing as npt

from burstscaler.api import quantity
from burstscaler.sim import errors

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}


@dataclasses.dataclass(frozen=True)
class Trace:
    """A request rate on a regular grid: ``rates[i]`` requests/s during ``[i, i+1) * interval``.

    ``rates`` holds NaN where the trace has no data (an outage row, or no row for that slot).
    ``start`` is the epoch second of slot 0 (0.0 for a trace whose time column is a plain index).
    """

    name: str
    interval: float
    start: float
    rates: FloatArray

    @property
    def duration(self) -> float:
        """The trace's length in seconds, missing slots included."""
        return float(self.rates.size * self.interval)


@dataclasses.dataclass(frozen=True)
class StepLoad:
    """A trace averaged into simulation steps of ``step`` seconds.

    ``rates[k]`` is the mean rate over step k's observed part; ``observed[k]`` is False when less
    than half of the step has data, and then ``rates[k]`` is NaN. ``start`` is the trace's.
    """

    step: float
    rates: FloatArray
    observed: BoolArray
    start: float = 0.0


def parse_interval(text: str) -> float:
    """Return an interval such as "60s", "1m", "15s" or "1h" in seconds.

    Raises ``TraceError`` when the text is not a positive duration.
    """
    try:
        seconds = quantity.parse_duration(text)
    except ValueError:
        raise errors.TraceError(f"--interval {text!r} is not a duration (examples: 1s, 15s, 60s, 1m)") from None
    if seconds <= 0:
        raise errors.TraceError(f"--interval {text!r} must be longer than zero")
    return float(seconds)


def load_trace(
    path: pathlib.Path | str,
    *,
    time_column: str | None = None,
    value_column: str | None = None,
    interval: float | None = None,
    skip_column: str | None = None,
) -> Trace:
    """Read a CSV trace into a ``Trace``.

    - ``time_column`` (default: the first column) holds ISO timestamps, or a plain number counting
      intervals (row index), in which case ``interval`` is required.
    - ``value_column`` (default: the only numeric column other than the time and skip columns) holds
      the request count of each row; it must not be negative. A blank value is missing data.
    - ``interval`` (seconds) is what one row covers; inferred from ISO timestamps when not given.
    - ``skip_column`` flags outage rows (1/true/yes): they become missing data, not zero load.

    Raises ``TraceError`` naming the file and the problem.
    """
    path = pathlib.Path(path)
    header, rows = _read_rows(path)
    time_name = time_column if time_column is not None else header[0]
    _require_column(path, header, time_name, option="--time-column")
    if skip_column is not None:
        _require_column(path, header, skip_column, option="--skip-column")
    value_name = value_column or _only_numeric_column(path, header, rows, exclude={time_name, skip_column})
    _require_column(path, header, value_name, option="--value-column")
    time_at, value_at = header.index(time_name), header.index(value_name)
    skip_at = header.index(skip_column) if skip_column is not None else None

    times: list[float] = []
    counts: list[float] = []
    numeric_time: bool | None = None
    for line, row in enumerate(rows, start=2):
        # An outage row still tells the time grid where it is; its count is missing data.
        outage = skip_at is not None and _flag(path, row[skip_at], line=line, column=str(skip_column))
        stamp, is_numeric = _parse_time(path, row[time_at], line=line, column=time_name)
        if numeric_time is None:
            numeric_time = is_numeric
        elif numeric_time != is_numeric:
            raise errors.TraceError(f"{path}: line {line}: column {time_name!r} mixes timestamps and numbers")
        times.append(stamp)
        counts.append(math.nan if outage else _parse_count(path, row[value_at], line=line, column=value_name))
    if not times or all(math.isnan(count) for count in counts):
        raise errors.TraceError(f"{path}: the trace is empty: no row with a value in column {value_name!r}")
    if numeric_time:
        if interval is None:
            raise errors.TraceError(
                f"{path}: column {time_name!r} is a plain index; give the step of one row with --interval (e.g. 60s)"
            )
        times = [stamp * interval for stamp in times]
    return _on_grid(
        path, times=np.asarray(times), counts=np.asarray(counts), interval=interval, index=bool(numeric_time)
    )


def resample(trace: Trace, *, step: float) -> StepLoad:
    """Average ``trace`` into steps of ``step`` seconds (exactly: the rate is a step function).

    The last step is dropped when less than half of it lies inside the trace.
    """
    if step <= 0:
        raise errors.SettingsError(f"the simulation step must be longer than zero, not {step}")
    observed = ~np.isnan(trace.rates)
    edges = np.arange(trace.rates.size + 1, dtype=np.float64) * trace.interval
    cum_requests = np.concatenate([[0.0], np.cumsum(np.where(observed, trace.rates, 0.0) * trace.interval)])
    cum_covered = np.concatenate([[0.0], np.cumsum(observed * trace.interval)])
    steps = max(1, round(trace.duration / step))
    bounds = np.minimum(np.arange(steps + 1, dtype=np.float64) * step, trace.duration)
    requests = np.diff(np.interp(bounds, edges, cum_requests))
    covered = np.diff(np.interp(bounds, edges, cum_covered))
    seen = covered >= 0.5 * step - 1e-9
    rates = np.full(steps, np.nan)
    rates[seen] = requests[seen] / covered[seen]
    return StepLoad(step=float(step), rates=rates, observed=seen, start=trace.start)


def _read_rows(path: pathlib.Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise errors.TraceError(f"{path}: no such trace file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            table = [row for row in csv.reader(stream) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise errors.TraceError(f"{path}: cannot read the trace as CSV: {error}") from None
    if not table:
        raise errors.TraceError(f"{path}: the trace is empty: no header and no rows")
    header = [name.strip() for name in table[0]]
    rows = table[1:]
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise errors.TraceError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
    if not rows:
        raise errors.TraceError(f"{path}: the trace is empty: a header and no rows")
    return header, rows


def _require_column(path: pathlib.Path, header: list[str], name: str, *, option: str) -> None:
    if name not in header:
        raise errors.TraceError(f"{path}: no column {name!r} ({option}); the columns are {', '.join(header)}")


def _only_numeric_column(
    path: pathlib.Path, header: list[str], rows: list[list[str]], *, exclude: set[str | None]
) -> str:
    numeric = [
        name
        for at, name in enumerate(header)
        if name not in exclude and all(_is_number(row[at]) for row in rows) and any(row[at].strip() for row in rows)
    ]
    if len(numeric) == 1:
        return numeric[0]
    if not numeric:
        raise errors.TraceError(
            f"{path}: no numeric column to use as the request count; the columns are {', '.join(header)}"
        )
    raise errors.TraceError(
        f"{path}: several numeric columns ({', '.join(numeric)}); choose the request count with --value-column"
        " (and flag outage rows with --skip-column)"
    )


def _is_number(text: str) -> bool:
    if not text.strip():
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _flag(path: pathlib.Path, text: str, *, line: int, column: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise errors.TraceError(f"{path}: line {line}: column {column!r} should be 0/1 or true/false, not {text!r}")


def _parse_time(path: pathlib.Path, text: str, *, line: int, column: str) -> tuple[float, bool]:
    value = text.strip()
    try:
        return float(value), True
    except ValueError:
        pass
    try:
        stamp = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise errors.TraceError(
            f"{path}: line {line}: column {column!r} holds {text!r}, neither an ISO timestamp nor a number;"
            " choose the time column with --time-column"
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.UTC)
    return stamp.timestamp(), False


def _parse_count(path: pathlib.Path, text: str, *, line: int, column: str) -> float:
    if not text.strip():
        return math.nan
    try:
        count = float(text)
    except ValueError:
        raise errors.TraceError(f"{path}: line {line}: column {column!r} holds {text!r}, not a number") from None
    if math.isnan(count) or math.isinf(count):
        raise errors.TraceError(f"{path}: line {line}: column {column!r} holds {text!r}, not a finite number")
    if count < 0:
        raise errors.TraceError(f"{path}: line {line}: negative request rate {text!r} in column {column!r}")
    return count


def _on_grid(
    path: pathlib.Path, *, times: FloatArray, counts: FloatArray, interval: float | None, index: bool
) -> Trace:
    order = np.argsort(times, kind="stable")
    times, counts = times[order], counts[order]
    gaps = np.diff(times)
    if np.any(gaps == 0):
        line = int(order[1:][gaps == 0][0]) + 2
        raise errors.TraceError(f"{path}: line {line}: a second row for the same time")
    if interval is None:
        if gaps.size == 0:
            raise errors.TraceError(f"{path}: a single row; give the time one row covers with --interval")
        interval = float(gaps.min())
    slots = np.rint((times - times[0]) / interval).astype(np.int64)
    rates = np.full(int(slots[-1]) + 1, np.nan)
    rates[slots] = counts / interval
    return Trace(name=path.name, interval=float(interval), start=0.0 if index else float(times[0]), rates=rates)
