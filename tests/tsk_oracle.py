"""The Sleuth Kit's own command-line tools as the oracle for file listings
and contents: ``fls -r -p`` lists, ``icat`` gives the bytes."""

from __future__ import annotations

import hashlib
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

_LINE = re.compile(r"^(?P<types>\S+/\S+)\s+(?P<deleted>\*\s+)?(?P<address>[0-9-]+)(?P<realloc>\(realloc\))?:\t(?P<path>.*)$")


@dataclass(frozen=True)
class TskFile:
    path: str          # with a leading "/", as our inventory prints it
    address: str       # "36" or "36-128-3"
    deleted: bool
    size: int | None   # None when icat cannot read it
    md5: str | None


def fls_regular_files(image: str, offset_sectors: int | None = None) -> list[tuple[str, str, bool]]:
    """(path, metadata address, deleted) for every regular-file line of
    ``fls -r -p``: name type or metadata type "r"."""
    command = ["fls", "-r", "-p"] + (["-o", str(offset_sectors)] if offset_sectors else []) + [image]
    listing = subprocess.run(command, capture_output=True, check=True).stdout.decode("utf-8", "surrogateescape")
    files = []
    for line in listing.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        name_type, meta_type = match.group("types").split("/", 1)
        if "r" not in (name_type, meta_type):
            continue
        files.append(("/" + match.group("path"), match.group("address"), bool(match.group("deleted"))))
    return files


def icat(image: str, address: str, offset_sectors: int | None = None) -> bytes | None:
    command = ["icat"] + (["-o", str(offset_sectors)] if offset_sectors else []) + [image, address]
    result = subprocess.run(command, capture_output=True)
    return result.stdout if result.returncode == 0 else None


def tsk_inventory(image: str, offset_sectors: int | None = None) -> list[TskFile]:
    listed = fls_regular_files(image, offset_sectors)

    def one(item: tuple[str, str, bool]) -> TskFile:
        path, address, deleted = item
        data = icat(image, address, offset_sectors) if address != "0" else None
        return TskFile(path, address, deleted, None if data is None else len(data),
                       None if data is None else hashlib.md5(data).hexdigest())

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, listed))
