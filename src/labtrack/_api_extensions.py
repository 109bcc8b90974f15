"""Api methods that live in feature modules (artifacts, sweeps, reports), loaded lazily."""

from __future__ import annotations

from typing import Any

EXTENSIONS: dict[str, str] = {
    "artifact": "labtrack.artifacts.api:artifact",
    "artifacts": "labtrack.artifacts.api:artifacts",
    "artifact_versions": "labtrack.artifacts.api:artifact_versions",
    "artifact_types": "labtrack.artifacts.api:artifact_types",
    "artifact_collections": "labtrack.artifacts.api:artifact_collections",
    "delete_artifact_version": "labtrack.artifacts.api:delete_artifact_version",
    "sweep": "labtrack.sweeps.api:api_sweep",
    "sweeps": "labtrack.sweeps.api:api_sweeps",
    "reports": "labtrack.reports.api:reports",
    "report": "labtrack.reports.api:report",
    "create_report": "labtrack.reports.api:create_report",
}


def api_extension(api: Any, name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(name)
    target = EXTENSIONS.get(name)
    if target is None:
        raise AttributeError(f"'Api' object has no attribute {name!r}")
    from ._extensions import bind

    return bind(api, f"Api.{name}", target)
