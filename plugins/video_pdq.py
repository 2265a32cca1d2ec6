"""vPDQ: PDQ hashes of video frames (Meta's vpdq binding), one per second of
video, so frames can be matched against the PDQ entries of the loaded hash
sets after the walk. Optional: needs the 'vpdq' extra, which builds against
FFmpeg's development packages (see pyproject.toml); without it the plugin
reports itself unavailable on the first video instead of failing silently."""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar, Iterator

from traffick_triage.perceptual.decode import DECODE_PIXEL_BUDGET, HASH_PIXEL_BUDGET, reduction_factor
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
    downsampled_to: tuple | None = None   # (width, height) frames were hashed at, when reduced (memory)


class VideoPdq(Plugin):
    NAME = "video_pdq"
    VERSION = "1.1.0"
    DESCRIPTION = "vPDQ frame hashes of videos (one per second) for matching against PDQ hash sets"
    SELECTOR = Selector(mime_types=("video/*",), max_size=8 << 30)

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        try:
            import vpdq
        except ImportError:
            ctx.warn("video not hashed: the vpdq extra is not installed (pip install 'traffick-triage[vpdq]')")
            return
        # Memory: vpdq decodes and hashes every frame at full size (an
        # 8000 x 8000 video: 992 MiB peak RSS; 363 MiB downsampled to 2000 x 2000).
        size = _frame_size(file)
        downsample: dict[str, int] = {}
        if size and size[0] * size[1] > DECODE_PIXEL_BUDGET:
            ctx.warn(f"video not hashed: frames of {size[0]}x{size[1]} = {size[0] * size[1]:,} pixels, "
                     f"larger than {DECODE_PIXEL_BUDGET:,} pixels, the most decoded")
            return
        if size and size[0] * size[1] > HASH_PIXEL_BUDGET:
            factor = reduction_factor(size, HASH_PIXEL_BUDGET)
            downsample = {"downsample_width": math.ceil(size[0] / factor),
                          "downsample_height": math.ceil(size[1] / factor)}
        # vpdq reads a file by name through FFmpeg: give it a verified temporary copy.
        path = ctx.temp_copy(file)
        features = vpdq.computeHash(str(path), seconds_per_hash=SECONDS_PER_HASH, thread_count=1, **downsample)
        if not features:
            ctx.warn("no frame could be decoded for vPDQ")
            return
        frames = tuple((int(f.frame_number), int(f.quality), str(f.hex), round(float(f.timestamp), 3))
                       for f in features[:MAX_FRAME_HASHES])
        yield VideoFrameHashes(frames=frames, seconds_per_hash=SECONDS_PER_HASH,
                               truncated=len(features) > MAX_FRAME_HASHES,
                               library=f"vpdq {metadata.version('vpdq')}",
                               downsampled_to=(downsample["downsample_width"], downsample["downsample_height"])
                               if downsample else None)


def _frame_size(file: FileView) -> tuple[int, int] | None:
    """The largest frame size the file's video streams declare (PyAV, the
    'video' extra), or None when it cannot be told: then vpdq decides."""
    try:
        import av
    except ImportError:
        return None
    with file.open() as stream:
        try:
            with av.open(stream, mode="r", io_open=_refuse_io_open) as container:
                sizes = [(s.codec_context.width or 0, s.codec_context.height or 0) for s in container.streams.video]
        except Exception:  # noqa: BLE001 - vpdq reports a video FFmpeg cannot read
            return None
    return max(sizes, key=lambda size: size[0] * size[1]) if sizes else None


def _refuse_io_open(url: str, flags: int, options: dict[str, Any]) -> Any:
    # A video must never make the demuxer open another file (external data references).
    raise PermissionError(f"refusing to open {url!r} referenced from inside evidence")
