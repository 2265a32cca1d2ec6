"""The probe the walk shows the expanders (api.Probe), with libmagic's type
taken only when one asks for it."""

from __future__ import annotations

from ..filetype import sniff_mime
from .api import Probe


class LazyProbe(Probe):
    """A Probe whose libmagic type is taken when an expander first asks for it:
    most expanders decide by the first bytes, and libmagic costs ~1.4 ms a file
    (measured on 64 KiB of mixed text and random bytes), which on many small
    files would make the scanning process the bottleneck."""

    def __init__(self, name: str, size: int, head: bytes, depth: int) -> None:  # noqa: D107
        for field_name, value in (("name", name), ("size", size), ("head", head), ("depth", depth)):
            object.__setattr__(self, field_name, value)
        object.__setattr__(self, "_mime", None)

    @property
    def mime(self) -> str:      # type: ignore[override]
        if self._mime is None:
            object.__setattr__(self, "_mime", sniff_mime(self.head))
        return self._mime
