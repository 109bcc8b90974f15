"""Rich media a run can log: tables, images, histograms, HTML, audio and video.

Every type is a :class:`Media`; ``Run.log`` turns one into a JSON-safe record with
``media.to_record(put_blob)``. Importing this package imports no numpy or Pillow:
they load when a media object is built.
"""

from __future__ import annotations

from labtrack.media.audio import Audio
from labtrack.media.base import Media, PutBlob, blob_ref, json_safe
from labtrack.media.histogram import Histogram
from labtrack.media.html import Html
from labtrack.media.image import Image
from labtrack.media.table import Table
from labtrack.media.video import Video

__all__ = [
    "Audio",
    "Histogram",
    "Html",
    "Image",
    "Media",
    "PutBlob",
    "Table",
    "Video",
    "blob_ref",
    "json_safe",
]
