"""Table: building, typing, pandas round-trip, media cells and the serialised form."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from labtrack.media import Image, Table


def test_add_data_and_get_column():
    table = Table(columns=["epoch", "loss", "note"])
    for epoch in range(3):
        table.add_data(epoch, 1.0 / (epoch + 1), f"e{epoch}")
    assert table.columns == ["epoch", "loss", "note"]
    assert table.data == [[0, 1.0, "e0"], [1, 0.5, "e1"], [2, 1 / 3, "e2"]]
    assert table.get_column("note") == ["e0", "e1", "e2"]
    np.testing.assert_allclose(table.get_column("loss", convert_to="numpy"), [1, 0.5, 1 / 3])
    assert list(table.iterrows())[1] == (1, [1, 0.5, "e1"])
    assert table.column_types == {"epoch": "number", "loss": "number", "note": "string"}


def test_default_columns_and_rows_alias():
    assert Table().columns == ["Input", "Output", "Expected"]
    table = Table(rows=[["a", "b", "c"]])
    assert table.data == [["a", "b", "c"]]


def test_numpy_values_become_python_values():
    table = Table(columns=["a", "b"], data=np.array([[1, 2], [3, 4]], dtype=np.int32))
    assert table.data == [[1, 2], [3, 4]] and type(table.data[0][0]) is int
    table.add_data(np.float32(0.5), np.bool_(True) * 1)
    assert type(table.data[2][0]) is float


def test_add_column():
    table = Table(columns=["x"], data=[[1], [2], [3]])
    table.add_column("y", [10, 20, 30])
    table.add_column("z", np.array([0.1, 0.2, 0.3]))
    assert table.columns == ["x", "y", "z"]
    assert table.data[2] == [3, 30, 0.3]
    empty = Table(columns=[])
    empty.add_column("a", ["p", "q"])
    assert empty.data == [["p"], ["q"]]


def test_dataframe_round_trip():
    df = pd.DataFrame(
        {
            "name": ["a", "b", "c"],
            "score": [0.5, np.nan, 2.0],
            "count": [1, 2, 3],
            "ok": [True, False, True],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", None]),
        }
    )
    table = Table(dataframe=df)
    assert table.columns == list(df.columns)
    assert table.get_column("count") == [1, 2, 3]
    assert table.get_column("ok") == [True, False, True]
    back = pd.DataFrame(table.data, columns=table.columns)
    pd.testing.assert_frame_equal(back[["name", "count", "ok"]], df[["name", "count", "ok"]])
    np.testing.assert_allclose(back["score"], df["score"])  # NaN stays NaN
    assert table.get_column("when")[2] is None
    # A DataFrame passed as data= is understood too.
    assert Table(data=df).columns == list(df.columns)


def test_record_is_strict_json(blobs):
    table = Table(columns=["v", "when", "tags"])
    table.add_data(math.nan, dt.date(2024, 5, 1), ["a", "b"])
    table.add_data(math.inf, None, {"k": -math.inf})
    rec = blobs.record(table)
    assert rec["_type"] == "table" and rec["nrows"] == 2 and rec["ncols"] == 3
    assert rec["data"] == [
        ["NaN", "2024-05-01", ["a", "b"]],
        ["Infinity", None, {"k": "-Infinity"}],
    ]


def test_images_in_cells_are_stored_as_blobs(blobs):
    rng = np.random.default_rng(0)
    table = Table(columns=["image", "label"])
    pixels = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(3)]
    for i, p in enumerate(pixels):
        table.add_data(Image(p), i)
    rec = blobs.record(table)
    assert rec["column_types"]["image"] == "image"
    for (cell, label), p in zip(rec["data"], pixels, strict=True):
        assert cell["_type"] == "image" and label in (0, 1, 2)
        np.testing.assert_array_equal(np.asarray(blobs.pil(cell)), p)


def test_large_table_goes_to_a_json_blob(blobs):
    n = 5000
    table = Table(columns=["i", "text"], data=[[i, "x" * 20] for i in range(n)])
    rec = blobs.record(table)
    assert "data" not in rec and rec["nrows"] == n
    rows = json.loads(blobs.get(rec["data_blob"]))
    assert rows == table.data


def test_mixed_types_are_refused_unless_allowed():
    with pytest.raises(TypeError, match="column 'a' holds number values, got a string"):
        Table(columns=["a"], data=[[1], ["x"]])
    table = Table(columns=["a"], data=[[1], ["x"], [None]], allow_mixed_types=True)
    assert table.get_column("a") == [1, "x", None]
    # None is allowed in any column.
    assert Table(columns=["a"], data=[[None], [2.5]]).column_types == {"a": "number"}


def test_bad_shapes_and_values_are_refused():
    table = Table(columns=["a", "b"])
    with pytest.raises(ValueError, match="row has 3 values but the table has 2 columns"):
        table.add_data(1, 2, 3)
    with pytest.raises(TypeError, match="cannot hold a value of type object"):
        table.add_data(object(), 1)
    table.add_data(1, 2)
    with pytest.raises(ValueError, match="has 2 values but the table has 1 rows"):
        table.add_column("c", [1, 2])
    with pytest.raises(ValueError, match="already exists"):
        table.add_column("a", [1])
    with pytest.raises(ValueError, match="no column named 'zz'"):
        table.get_column("zz")
    with pytest.raises(ValueError, match="duplicate column names"):
        Table(columns=["a", "a"])
    with pytest.raises(TypeError, match="list of rows"):
        Table(columns=["a"], data="abc")
    with pytest.raises(ValueError, match="2-D"):
        Table(columns=["a"], data=np.zeros(3))
