"""``Table``: rows of typed columns; cells may hold numbers, text, booleans or media."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from labtrack.media.base import Media, PutBlob, blob_ref, json_safe

DEFAULT_COLUMNS = ("Input", "Output", "Expected")  # wandb's legacy default


def cell_kind(value: Any) -> str | None:
    """The type name a column records for ``value``; None for a missing value.

    Raises:
        TypeError: for a value a table cannot hold.
    """
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Media):
        return value._type
    if isinstance(value, (dt.datetime, dt.date)):
        return "datetime"
    if isinstance(value, (list, tuple, Mapping)):
        return "json"
    raise TypeError(f"a table cell cannot hold a value of type {type(value).__name__}")


def _plain(value: Any) -> Any:
    """numpy scalars to Python values and pandas' missing markers to None; others unchanged."""
    module = type(value).__module__ or ""
    if module.startswith("numpy") and hasattr(value, "item"):
        value = value.tolist()
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


class Table(Media):
    """A table to log, like ``wandb.Table``.

    Args:
        columns: column names (default ``["Input", "Output", "Expected"]``, as in wandb).
        data: rows as a list of lists, a 2-D numpy array or a pandas DataFrame.
        rows: the legacy name for ``data``.
        dataframe: a pandas DataFrame; its column names are used.
        allow_mixed_types: let a column hold values of different types.

    Attributes:
        columns: the column names.
        data: the rows, each a list with one value per column.

    Raises:
        TypeError: for a value a cell cannot hold, or a type that differs from
            the column's earlier values (unless ``allow_mixed_types``).
        ValueError: for a row with the wrong number of values or duplicate column names.
    """

    _type = "table"
    INLINE_LIMIT = 64 * 1024  # rows bigger than this (as JSON) go to a blob
    MAX_ROWS = 200_000

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: bool = True,
        allow_mixed_types: bool = False,
    ) -> None:
        self.allow_mixed_types = allow_mixed_types
        self.data: list[list[Any]] = []
        self._kinds: list[str | None] = []
        if dataframe is None and type(data).__name__ == "DataFrame":
            dataframe, data = data, None
        if dataframe is not None:
            self._set_columns([str(c) for c in dataframe.columns])
            for row in dataframe.itertuples(index=False, name=None):
                self.add_data(*row)
            return
        if isinstance(columns, str):
            raise TypeError("columns must be a list of names, not a str")
        self._set_columns(list(columns) if columns is not None else list(DEFAULT_COLUMNS))
        source = data if data is not None else rows
        if source is None:
            return
        if hasattr(source, "ndim") and hasattr(source, "tolist"):
            if source.ndim != 2:
                raise ValueError(f"table data arrays must be 2-D, got shape {source.shape}")
            source = source.tolist()
        if isinstance(source, (str, bytes, Mapping)) or not isinstance(source, Sequence):
            raise TypeError(f"table data must be a list of rows, got {type(source).__name__}")
        for row in source:
            if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
                raise TypeError(f"each table row must be a list, got {type(row).__name__}")
            self.add_data(*row)

    def _set_columns(self, names: list[Any]) -> None:
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"column names must be str, got {name!r}")
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"duplicate column names: {dupes}")
        self.columns: list[str] = names
        self._kinds = [None] * len(names)

    def _check(self, col: int, value: Any) -> None:
        kind = cell_kind(value)
        if kind is None or self.allow_mixed_types:
            return
        expected = self._kinds[col]
        if expected is None:
            self._kinds[col] = kind
        elif expected != kind:
            raise TypeError(
                f"column {self.columns[col]!r} holds {expected} values, got a {kind}: "
                f"{value!r:.60} (pass allow_mixed_types=True to allow this)"
            )

    def add_data(self, *data: Any) -> None:
        """Append one row, one value per column.

        Raises:
            ValueError: when the number of values differs from the number of columns.
            TypeError: when a value does not fit its column.
        """
        if len(data) != len(self.columns):
            raise ValueError(
                f"row has {len(data)} values but the table has {len(self.columns)} columns "
                f"{self.columns}"
            )
        row = [_plain(v) for v in data]
        for i, value in enumerate(row):
            cell_kind(value)  # reject unsupported values even when mixed types are allowed
            self._check(i, value)
        self.data.append(row)

    def add_row(self, *row: Any) -> None:
        """Append one row (wandb's older name for :meth:`add_data`)."""
        self.add_data(*row)

    def add_column(self, name: str, data: Any, optional: bool = False) -> None:
        """Append a column holding ``data``, one value per existing row.

        Raises:
            ValueError: when the name exists or the length differs from the row count.
        """
        if not isinstance(name, str):
            raise TypeError(f"column name must be a str, got {type(name).__name__}")
        if name in self.columns:
            raise ValueError(f"column {name!r} already exists")
        if hasattr(data, "tolist") and not isinstance(data, Media):
            data = data.tolist()
        if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
            raise TypeError(f"column data must be a list, got {type(data).__name__}")
        values = [_plain(v) for v in data]
        if self.data and len(values) != len(self.data):
            raise ValueError(
                f"column {name!r} has {len(values)} values but the table has {len(self.data)} rows"
            )
        if not self.data:
            self.data = [[None] * len(self.columns) for _ in values]
        self.columns.append(name)
        self._kinds.append(None)
        col = len(self.columns) - 1
        for value in values:
            cell_kind(value)
            self._check(col, value)
        for row, value in zip(self.data, values, strict=True):
            row.append(value)

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """Return the values of column ``name`` as a list, or a numpy array with
        ``convert_to="numpy"``.

        Raises:
            ValueError: for an unknown column or ``convert_to`` value.
        """
        if name not in self.columns:
            raise ValueError(f"no column named {name!r}; columns are {self.columns}")
        col = self.columns.index(name)
        values = [row[col] for row in self.data]
        if convert_to is None:
            return values
        if convert_to == "numpy":
            import numpy as np

            return np.array(values)
        raise ValueError(f"convert_to must be None or 'numpy', got {convert_to!r}")

    def get_index(self) -> list[int]:
        """The row numbers, 0 to ``len(data) - 1``."""
        return list(range(len(self.data)))

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """Yield ``(row number, row)`` pairs."""
        yield from enumerate(self.data)

    @property
    def column_types(self) -> dict[str, str | None]:
        """The type of each column (number, string, bool, image, ...), None while empty."""
        return dict(zip(self.columns, self._kinds, strict=True))

    def to_record(self, put_blob: PutBlob) -> dict[str, Any]:
        """Serialise the table; media in cells become nested records.

        Rows go inline under ``data`` when small, else into a JSON blob
        referred to by ``data_blob``.

        Raises:
            ValueError: for a table of more than ``MAX_ROWS`` rows.
        """
        if len(self.data) > self.MAX_ROWS:
            raise ValueError(f"a table holds at most {self.MAX_ROWS} rows, got {len(self.data)}")
        rows = [[json_safe(v, put_blob) for v in row] for row in self.data]
        record: dict[str, Any] = {
            "_type": self._type,
            "columns": list(self.columns),
            "column_types": self.column_types,
            "nrows": len(rows),
            "ncols": len(self.columns),
        }
        text = json.dumps(rows, allow_nan=False, separators=(",", ":"))
        if len(text) > self.INLINE_LIMIT:
            record["data_blob"] = blob_ref(put_blob, text.encode("utf-8"), "json")
        else:
            record["data"] = rows
        return record

    def __repr__(self) -> str:
        return f"<Table {len(self.data)} rows x {len(self.columns)} columns {self.columns}>"
