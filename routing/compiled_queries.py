"""Hot reads compiled to SQL once per process, their integer arguments filled in on each run.

Building a queryset and compiling it costs Python more than the database takes
to run it: in the ACD's offer pass, about four fifths of its reads' time went
to cloning querysets and writing their SQL (bench/README.md). A
`CompiledQuery` builds its queryset once per shape, from stand-ins for its
integer arguments, keeps the SQL and puts the real values where the stand-ins
were on each run.

Only integers (and tuples of them, one shape per length) are arguments;
whatever else the build reads is kept with the SQL. So a build never reads the
clock (a query about "now" says `Now()`, the database's own), and a datetime
among the compiled parameters is refused. Compile-time constants (a LIMIT,
inlined in the SQL) are keyword arguments and part of the shape.
"""

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)

Argument = int | tuple[int, ...]


class CompileError(Exception):
    """A build whose SQL cannot be filled in again (a programming error)."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    # For each argument, the positions in `params` of each of its values.
    places: tuple[tuple[tuple[int, ...], ...], ...]


# Stand-ins: negative numbers no real id, capacity or count is.
_stand_ins = itertools.count(-(2**53))


class CompiledQuery:
    """A read built by `build` from its arguments, compiled once per shape."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]]) -> None:
        self._build = build
        self._compiled: dict[tuple, _Compiled] = {}

    def values(self, *args: Argument, **constants: Any) -> list[tuple]:
        """Run a `values_list` build: its rows, as the database answers them (no
        converters: for integers and text only)."""
        sql, params = self.sql(*args, **constants)
        if not sql:
            return []
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def instances(self, model: type[M], *args: Argument, **constants: Any) -> list[M]:
        """Run a build of whole rows of `model` (no select_related, no annotations)."""
        sql, params = self.sql(*args, **constants)
        if not sql:
            return []
        return list(model._default_manager.raw(sql, params))

    def sql(self, *args: Argument, **constants: Any) -> tuple[str, list]:
        shape = (
            connections[DEFAULT_DB_ALIAS].vendor,
            tuple(len(a) if isinstance(a, tuple) else None for a in args),
            tuple(sorted(constants.items())),
        )
        compiled = self._compiled.get(shape)
        if compiled is None:
            compiled = self._compiled[shape] = self._compile(args, constants)
        params = list(compiled.params)
        if not compiled.sql:
            return "", params
        for argument, places in zip(args, compiled.places, strict=True):
            values = argument if isinstance(argument, tuple) else (argument,)
            for value, positions in zip(values, places, strict=True):
                for position in positions:
                    params[position] = value
        return compiled.sql, params

    def _compile(self, args: Sequence[Argument], constants: dict) -> _Compiled:
        stand_ins: list[Argument] = []
        for argument in args:
            if isinstance(argument, tuple):
                stand_ins.append(tuple(next(_stand_ins) for _ in argument))
            else:
                stand_ins.append(next(_stand_ins))
        try:
            sql, params = self._sql_of(stand_ins, constants)
        except EmptyResultSet:  # e.g. `pk__in` an empty tuple: no query to run
            return _Compiled(sql="", params=(), places=())
        # Built twice: anything read at build time that changes (the clock) shows.
        if (sql, params) != self._sql_of(stand_ins, constants):
            raise CompileError("a compiled query must not keep a moment: use Now()")
        places = []
        for stand_in in stand_ins:
            values = stand_in if isinstance(stand_in, tuple) else (stand_in,)
            argument_places = []
            for value in values:
                positions = tuple(i for i, p in enumerate(params) if p == value)
                if not positions or str(value) in sql:
                    raise CompileError(f"an argument is not a parameter of the SQL: {sql}")
                argument_places.append(positions)
            places.append(tuple(argument_places))
        return _Compiled(sql=sql, params=params, places=tuple(places))

    def _sql_of(self, stand_ins: list, constants: dict) -> tuple[str, tuple]:
        queryset = self._build(*stand_ins, **constants)
        sql, params = queryset.query.get_compiler(DEFAULT_DB_ALIAS).as_sql()
        return sql, tuple(params)
