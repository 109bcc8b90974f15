"""Artifacts: versioned datasets and models, their lineage, and the model registry.

``labtrack.Artifact`` builds one; ``run.log_artifact`` / ``run.use_artifact`` (see
:mod:`.run_api`) log and consume versions; ``labtrack.Api().artifact(...)`` (see
:mod:`.api`) reads them; :mod:`.views` serves the UI; :class:`.index.ArtifactIndex`
holds every database operation. Importing this package imports no database code.
"""

from .artifact import Artifact, ArtifactEntry

__all__ = ["Artifact", "ArtifactEntry"]
