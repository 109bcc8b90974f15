"""Pydantic models of the JSON API: the contract published at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong and what to do.")
    type: str = Field(description="The labtrack error class, e.g. NotFoundError.")
    position: int | None = Field(None, description="FilterError: 0-based offset in the filter.")
    expression: str | None = Field(None, description="FilterError: the filter text.")


class ProjectOut(BaseModel):
    name: str
    run_count: int
    running: int = 0
    created_at: float
    last_activity: float | None


class RunRow(BaseModel):
    """One row of the runs table."""

    id: str
    name: str
    project: str
    state: str
    created_at: float
    updated_at: float | None = None
    finished_at: float | None = None
    duration: float
    tags: list[str]
    group: str | None = None
    job_type: str | None = None
    favorite: bool = False
    step: int = 0
    host: str | None = None
    sweep_id: str | None = None
    values: dict[str, Any] = Field(default_factory=dict,
                                   description="The requested config/summary columns.")


class RunPage(BaseModel):
    total: int = Field(description="Runs matching the filter.")
    offset: int
    limit: int
    order: str | None
    columns: list[str]
    runs: list[RunRow]


class ColumnsOut(BaseModel):
    fields: list[str]
    config: list[str]
    varying: list[str] = Field(default_factory=list,
                               description="Config paths whose values differ between runs.")
    summary: list[str]


class GroupStats(BaseModel):
    mean: float | None
    min: float | None
    max: float | None


class Group(BaseModel):
    value: Any
    count: int
    metrics: dict[str, GroupStats]


class GroupsOut(BaseModel):
    by: str
    metrics: list[str]
    groups: list[Group]


class SeriesOut(BaseModel):
    key: str
    kind: str | None = None
    count: int
    first_step: int | None = None
    last_step: int | None = None
    min: float | None = None
    max: float | None = None
    last: Any = None
    backwards: bool = False


class FileOut(BaseModel):
    path: str
    digest: str
    size: int
    created_at: float | None = None


class RunDetail(RunRow):
    """Everything indexed about a run."""

    notes: str | None = None
    notes_html: str = Field("", description="The notes as sanitised HTML (Markdown).")
    config: dict[str, Any]
    summary: dict[str, Any]
    environment: dict[str, Any]
    metric_defs: dict[str, Any]
    error: str | None = None
    exit_code: int | None = None
    owner: str | None = None
    heartbeat_at: float | None = None
    reproduced_from: str | None = None


class RunEdit(BaseModel):
    """Fields to change; omitted fields stay as they are."""

    name: str | None = Field(None, min_length=1, max_length=300)
    tags: list[str] | None = None
    notes: str | None = Field(None, max_length=200_000)
    favorite: bool | None = None


class RunState(BaseModel):
    id: str
    name: str
    state: str
    step: int
    updated_at: float | None
    duration: float


class KeysRequest(BaseModel):
    runs: list[str] = Field(max_length=1000)


class KeyOut(BaseModel):
    key: str
    runs: int = Field(description="How many of the runs have this series.")
    system: bool


class ChartRequest(BaseModel):
    runs: list[str] = Field(max_length=1000)
    keys: list[str] = Field(max_length=500)
    x: str = Field("default", description="default | step | wall | relative | metric")
    x_key: str | None = Field(None, description="The x metric when x is 'metric'.")
    max_points: int = Field(2000, ge=10, le=20_000, description="Per line, after downsampling.")
    encoding: str = Field("json", description="json: arrays of numbers (null for NaN); "
                          "base64: little-endian float64 bytes, base64 (NaN kept)")


class ChartLine(BaseModel):
    run_id: str
    key: str
    x_key: str | None
    x: list[float | None] | str
    y: list[float | None] | str
    points: int
    total: int
    sampled: bool


class ChartOut(BaseModel):
    x: str
    encoding: str
    x_key: str | None
    runs: dict[str, dict[str, Any]]
    lines: list[ChartLine]


class ViewSpec(BaseModel):
    """What a saved view remembers; unknown fields are kept for newer UIs."""

    model_config = {"extra": "allow"}

    columns: list[str] = Field(default_factory=list)
    filter: str = ""
    order: str | None = None
    group_by: str | None = None
    group_metrics: list[str] = Field(default_factory=list)
    charts: dict[str, Any] = Field(default_factory=dict)


class ViewIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    spec: ViewSpec = Field(default_factory=ViewSpec)


class ViewPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    spec: ViewSpec | None = None


class ViewOut(BaseModel):
    id: int
    project: str
    name: str
    spec: dict[str, Any]
    created_at: float
    updated_at: float
