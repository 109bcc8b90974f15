"""``wandb.data_types``: the media types."""

from labtrack.compat.names import (  # noqa: F401
    Bokeh,
    BoundingBoxes2D,
    Classes,
    Graph,
    ImageMask,
    JoinedTable,
    Molecule,
    PartitionedTable,
    Plotly,
)
from labtrack.compat.object3d import Object3D  # noqa: F401
from labtrack.media import Audio, Histogram, Html, Image, Table, Video  # noqa: F401
