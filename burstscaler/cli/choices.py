"""Options shared by the commands that print results."""

from __future__ import annotations

import enum


class Format(enum.StrEnum):
    """Output formats on stdout."""

    table = "table"
    json = "json"
    csv = "csv"
