"""The Sleuth Kit over a volume dfVFS decodes from a container (VMDK, QCOW,
VHD/VHDX, DMG), for what dfVFS does not list there: its TSK back-end skips
every unallocated name on purpose (dfvfs/vfs/tsk_directory.py), and names
that are not valid UTF-8. pytsk3 reads the same volume bytes as an external
image; the walk is DiskImageSource's, so a deleted file inside a container
is listed as it is in a raw image of the same file system."""

from __future__ import annotations

from typing import IO, Any, Iterator

import pytsk3

from .base import Entry, EvidenceSource
from .disk import DiskImageSource, _TskImage, _tsk_reason

# Marks an address as this reader's (DfvfsSource.open_address routes on it).
READER = "pytsk3"


class TskVolume(DiskImageSource):
    """One volume of a container: its file system opened by pytsk3 over
    ``reader`` (random access to the volume's bytes), walked as a raw image's
    would be. Locators and addresses carry the dfVFS volume's segments and
    key, so they sit beside dfVFS's own entries for that volume."""

    def __init__(self, reader: Any, display_name: str, volume: dict[str, Any]) -> None:
        # Not DiskImageSource.__init__: there is no image file to open, only
        # bytes dfVFS decoded, and the volume is already found.
        EvidenceSource.__init__(self, "", display_name)
        self.reader = reader
        self._image = _TskImage(reader)
        self._prefix = tuple(volume["segments"])
        self._key = volume["key"]
        try:
            fs = pytsk3.FS_Info(self._image, offset=0)
        except (OSError, IOError, RuntimeError) as error:
            raise OSError(f"The Sleuth Kit cannot open the file system over dfVFS's bytes: "
                          f"{_tsk_reason(error)}") from error
        # What the walk and open_address read; offset as dfVFS's addresses give it.
        self.volumes = [{"offset": volume["offset"], "fs": fs, "local_times": volume["local_times"]}]

    def entries(self) -> Iterator[Entry]:
        volume = self.volumes[0]
        fs = volume["fs"]
        try:
            root = fs.open_dir(path="/")
        except (OSError, IOError, RuntimeError) as error:
            self.warn(f"The Sleuth Kit cannot open the root directory: {_tsk_reason(error)}", *self._prefix)
            return
        yield from self._walk(fs, volume, root, self._prefix)

    def _fs_offset(self, volume: dict[str, Any]) -> int:
        return 0          # self.reader is the volume's own bytes

    def entries_besides(self, listed: set[Any]) -> Iterator[Entry]:
        """What TSK lists that is not in ``listed`` (identities from
        ``identity`` of the entries dfVFS gave). A deleted name is always new:
        dfVFS lists none, and one whose inode now belongs to a listed file
        (fls's "(realloc)") is a name record of its own, listed by fls and
        by the raw-image source alike."""
        for entry in self.entries():
            if not entry.allocated or identity(entry.address["inode"], entry.address["data_stream"]) not in listed:
                yield entry

    def _entries_for(self, child: Any, volume: dict[str, Any], prefix: tuple[str, ...], path: str,
                     kind: str, allocated: bool, inode: int, meta: Any) -> Iterator[Entry]:
        for entry in super()._entries_for(child, volume, prefix, path, kind, allocated, inode, meta):
            # The stream by name, as dfVFS addresses name it: the identity both sides share.
            stream = entry.path[len(path) + 1:] or None
            entry.address = {**entry.address, "volume": self._key, "reader": READER, "data_stream": stream}
            yield entry

    def _volume_prefix(self, volume: dict[str, Any]) -> tuple[str, ...]:
        return self._prefix

    def find_sibling(self, entry: Entry, name: str) -> Entry | None:
        sibling = super().find_sibling(entry, name)
        if sibling is not None:
            sibling.address = {**sibling.address, "volume": self._key, "reader": READER, "data_stream": None}
        return sibling

    def open_address(self, address: dict[str, Any]) -> IO[bytes]:
        try:
            return super().open_address(address)
        except (IOError, RuntimeError) as error:
            raise OSError(f"The Sleuth Kit cannot open inode {address.get('inode')}: "
                          f"{_tsk_reason(error)}") from error


def identity(inode: Any, stream: str | None) -> Any:
    """A file system's own name for one data stream: the inode (MFT entry) and
    the stream name. A bare inode for the default stream keeps the set of a
    large volume small."""
    return inode if stream is None else (inode, stream)
