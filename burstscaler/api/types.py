"""Building blocks shared by the spec and status models: the base model and field types.

Every model speaks camelCase on the wire (as Kubernetes objects do) and snake_case in Python, and
rejects unknown fields, so a typo in a policy is an error with a path rather than a silent default.
Quantities and prices are exact Decimals that accept the Kubernetes int-or-string form.
"""

from __future__ import annotations

import decimal
from typing import Annotated, Any

import pydantic
from pydantic import alias_generators

from burstscaler.api import quantity


class ApiModel(pydantic.BaseModel):
    """Base of every BurstPolicy model: camelCase aliases, unknown fields forbidden, immutable."""

    model_config = pydantic.ConfigDict(
        alias_generator=alias_generators.to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """Return the object as Kubernetes would store it: camelCase keys, defaults included."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _int_or_string_schema(*, pattern: str, description: str) -> dict[str, Any]:
    # Structural schemas allow exactly this anyOf shape for int-or-string; value validations such as
    # `pattern` (which JSON schema applies to strings only) sit beside it, never inside the branches.
    return {
        "x-kubernetes-int-or-string": True,
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": pattern,
        "description": description,
    }


def _to_decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, bool):
        raise ValueError('expected a number written as a string, such as "0.0000077"')
    try:
        return quantity.parse_quantity(value)
    except (ValueError, decimal.InvalidOperation) as error:
        raise ValueError(str(error)) from None


def _non_negative(value: decimal.Decimal) -> decimal.Decimal:
    if value < 0:
        raise ValueError(f"must not be negative (got {value})")
    return value


#: A price or a budget: a non-negative exact decimal, written as a string ("0.0000077") or an integer.
Money = Annotated[
    decimal.Decimal,
    pydantic.BeforeValidator(_to_decimal),
    pydantic.AfterValidator(_non_negative),
    pydantic.PlainSerializer(lambda value: format(value, "f"), return_type=str),
    pydantic.WithJsonSchema(
        _int_or_string_schema(
            pattern=quantity.NON_NEGATIVE_DECIMAL_PATTERN,
            description='A non-negative decimal, written as a string ("0.0000077") or an integer.',
        )
    ),
]

#: A metric target: a non-negative Kubernetes quantity ("50", "500m", "1k").
Quantity = Annotated[
    decimal.Decimal,
    pydantic.BeforeValidator(_to_decimal),
    pydantic.AfterValidator(_non_negative),
    pydantic.PlainSerializer(lambda value: format(value.normalize(), "f"), return_type=str),
    pydantic.WithJsonSchema(
        _int_or_string_schema(
            pattern=quantity.QUANTITY_PATTERN,
            description='A Kubernetes quantity such as "50", "500m" or "1k".',
        )
    ),
]
