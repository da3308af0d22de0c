"""Reading the one row a key names."""

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def row_or_none(queryset: QuerySet[M]) -> M | None:
    """The row a lookup by a unique key finds, or None.

    Not `.first()`: it orders by the model's ordering (or the pk), and Django's
    compiler then matches the ordering against every selected column: about a
    third of compiling a row read with its related rows (0.80 → 0.57 ms for an
    interaction with its customer, workgroup and agent), on the hottest reads.
    """
    return next(iter(queryset.order_by()[:1]), None)
