"""vPDQ: PDQ hashes of video frames (Meta's vpdq binding), one per second of
video, so frames can be matched against the PDQ entries of the loaded hash
sets after the walk. Optional: needs the 'vpdq' extra, which builds against
FFmpeg's development packages (see pyproject.toml); without it the plugin
reports itself unavailable on the first video instead of failing silently."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import ClassVar, Iterator

from traffick_triage.plugin_api import Context, FileView, Finding, Plugin, Selector

SECONDS_PER_HASH = 1
MAX_FRAME_HASHES = 7200          # two hours at one hash per second: bounded findings per file


@dataclass(frozen=True)
class VideoFrameHashes(Finding):
    KIND: ClassVar[str] = "perceptual.video"

    frames: tuple            # ((frame number, quality, PDQ hex, seconds), ...)
    seconds_per_hash: int
    truncated: bool
    library: str


class VideoPdq(Plugin):
    NAME = "video_pdq"
    VERSION = "1.0.0"
    DESCRIPTION = "vPDQ frame hashes of videos (one per second) for matching against PDQ hash sets"
    SELECTOR = Selector(mime_types=("video/*",), max_size=8 << 30)

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        try:
            import vpdq
        except ImportError:
            ctx.warn("video not hashed: the vpdq extra is not installed (pip install 'traffick-triage[vpdq]')")
            return
        # vpdq reads a file by name through FFmpeg: give it a verified temporary copy.
        path = ctx.temp_copy(file)
        features = vpdq.computeHash(str(path), seconds_per_hash=SECONDS_PER_HASH, thread_count=1)
        if not features:
            ctx.warn("no frame could be decoded for vPDQ")
            return
        frames = tuple((int(f.frame_number), int(f.quality), str(f.hex), round(float(f.timestamp), 3))
                       for f in features[:MAX_FRAME_HASHES])
        yield VideoFrameHashes(frames=frames, seconds_per_hash=SECONDS_PER_HASH,
                               truncated=len(features) > MAX_FRAME_HASHES,
                               library=f"vpdq {metadata.version('vpdq')}")
