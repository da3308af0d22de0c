"""Hot reads compiled to SQL once per process, their arguments filled in on each run.

Building a queryset and compiling it costs Python more than the database takes
to run it: in the ACD's offer pass, about four fifths of its reads' time went
to cloning querysets and writing their SQL (bench/README.md). A
`CompiledQuery` builds its queryset once per shape from stand-ins for its
arguments, keeps the SQL and puts the real values where the stand-ins were on
each run.

Arguments are integers and text (and tuples of them: one shape per length);
whatever else the build reads is kept with the SQL. So a build never reads
the clock (a query about "now" says `Now()`, the database's own): each shape
is built twice, and one whose SQL differs between the two (a moment read to
the microsecond) is refused, as is
one where a stand-in is not a parameter of the SQL as it was given (a lookup
that rewrites its value, `contains`, cannot be filled in again).
Compile-time constants (a LIMIT, inlined in the SQL) are keyword arguments
and part of the shape.
"""

import copy
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable
from django.db.transaction import TransactionManagementError

Value = int | str
Argument = Value | tuple[Value, ...]


class CompileError(Exception):
    """A build whose SQL cannot be filled in again (a programming error)."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    # For each argument, the positions in `params` of each of its values.
    places: tuple[tuple[tuple[int, ...], ...], ...]
    # For a build of model instances: the compiler that wrote the SQL (it knows
    # which columns make which object) and the queryset's class and model.
    template: Any = None
    queryset_class: type | None = None
    model: type[Model] | None = None


# Stand-ins: negative numbers no real id, capacity or count is; text no one writes.
_stand_ins = itertools.count(-(2**53))


def _stand_in_for(value: Value) -> Value:
    number = next(_stand_ins)
    return f"\x1fstand-in{number}\x1f" if isinstance(value, str) else number


def id_tuple(ids: Iterable[int]) -> tuple[int, ...]:
    """Ids as a compiled read takes them: each once, in order (one shape per count)."""
    return tuple(sorted(set(ids)))


def _kind(value: Value) -> type:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise CompileError(f"a compiled query takes integers and text, not {value!r}")
    return str if isinstance(value, str) else int


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

    def objects(self, *args: Argument, **constants: Any) -> list:
        """Run a build of model instances: made by the ORM's own row reader from the
        kept SQL, related rows (`select_related`) and annotations included."""
        compiled = self._compiled_for(args, constants)
        if not compiled.sql:
            return []
        if compiled.template is None or compiled.queryset_class is None:
            raise CompileError("objects() needs a build of model instances")
        sql, params = self._filled(compiled, args)
        connection = connections[DEFAULT_DB_ALIAS]
        if compiled.template.query.select_for_update and connection.get_autocommit():
            # The ORM's own check, which writing the SQL again would have made.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        # The compiler that wrote the SQL knows which columns make which object; a
        # copy of it, on this thread's connection, answers the kept SQL.
        compiler = copy.copy(compiled.template)
        compiler.connection = connection
        compiler.as_sql = lambda *_, **__: (sql, params)
        queryset = compiled.queryset_class(model=compiled.model, query=_Written(compiler))
        return list(queryset)

    def sql(self, *args: Argument, **constants: Any) -> tuple[str, list]:
        compiled = self._compiled_for(args, constants)
        if not compiled.sql:
            return "", []
        return self._filled(compiled, args)

    def _compiled_for(self, args: Sequence[Argument], constants: dict) -> _Compiled:
        shape = (
            connections[DEFAULT_DB_ALIAS].vendor,
            tuple(_shape_of(a) for a in args),
            tuple(sorted(constants.items())),
        )
        compiled = self._compiled.get(shape)
        if compiled is None:
            compiled = self._compiled[shape] = self._compile(args, constants)
        return compiled

    @staticmethod
    def _filled(compiled: _Compiled, args: Sequence[Argument]) -> tuple[str, list]:
        params = list(compiled.params)
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
                stand_ins.append(tuple(_stand_in_for(value) for value in argument))
            else:
                stand_ins.append(_stand_in_for(argument))
        try:
            queryset, compiler, sql, params = self._written(stand_ins, constants)
        except EmptyResultSet:  # e.g. `pk__in` an empty tuple: no query to run
            return _Compiled(sql="", params=(), places=())
        # Built twice: anything read at build time that changes (the clock) shows.
        if (sql, params) != self._written(stand_ins, constants)[2:]:
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
        models = queryset._iterable_class is ModelIterable
        return _Compiled(
            sql=sql,
            params=params,
            places=tuple(places),
            template=compiler if models else None,
            queryset_class=type(queryset) if models else None,
            model=queryset.model,
        )

    def _written(self, stand_ins: list, constants: dict) -> tuple[QuerySet, Any, str, tuple]:
        queryset = self._build(*stand_ins, **constants)
        compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        return queryset, compiler, sql, tuple(params)


def _shape_of(argument: Argument) -> tuple:
    """What compiles alike: the kinds of the values (each kind its own stand-ins)."""
    if isinstance(argument, tuple):
        return tuple(_kind(value) for value in argument)
    return (_kind(argument),)


class _Written:
    """What a queryset's rows are read through (its `query`): the compiler that
    answers the kept SQL."""

    def __init__(self, compiler: Any) -> None:
        self._compiler = compiler

    def get_compiler(self, using: str | None = None, **_: Any) -> Any:
        return self._compiler
