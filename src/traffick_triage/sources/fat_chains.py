"""Loops in a FAT folder's cluster chain: a folder whose last cluster links
back to an earlier one (tampering, or damage). The Sleuth Kit and libfsfat
both stop at the repeated cluster without a word (fls lists the folder once,
pyfsfat likewise: measured on a FAT16 image whose folder's sixth cluster was
patched to link to its first), so neither says the file system was altered.
This follows the chain in the FAT itself, every cluster remembered and the
walk bounded by the cluster count, and names the cluster where it loops.

Only what the check needs is read from the boot sector: the FAT's place and
width and the data area's cluster geometry."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

Read = Callable[[int, int], bytes]


@dataclass(frozen=True)
class FatLayout:
    offset: int              # the volume's first byte in the image
    bytes_per_sector: int
    sectors_per_cluster: int
    fat_offset: int          # first FAT, bytes from the volume start
    data_sector: int         # first sector of cluster 2, from the volume start
    clusters: int            # data clusters (cluster numbers 2 .. clusters + 1)
    bits: int                # 12, 16 or 32
    root_cluster: int        # FAT32's root folder (0 on FAT12/16: a fixed root area)


def layout(read: Read, offset: int) -> FatLayout | None:
    """The FAT geometry of the volume at ``offset``, or None when its boot
    sector does not describe a FAT one can follow safely."""
    boot = read(offset, 512)
    if len(boot) < 512:
        return None
    bytes_per_sector, per_cluster, reserved, fats, root_entries, total16 = struct.unpack_from("<HBHBHH", boot, 11)
    fat16_size, = struct.unpack_from("<H", boot, 22)
    total32, fat32_size, _, _, root_cluster = struct.unpack_from("<IIHHI", boot, 32)
    fat_size = fat16_size or fat32_size
    total = total16 or total32
    if bytes_per_sector not in (512, 1024, 2048, 4096) or per_cluster == 0 or per_cluster & (per_cluster - 1):
        return None
    if not fats or not fat_size or not reserved:
        return None
    root_sectors = (root_entries * 32 + bytes_per_sector - 1) // bytes_per_sector
    data_sector = reserved + fats * fat_size + root_sectors
    if total <= data_sector:
        return None
    clusters = (total - data_sector) // per_cluster
    bits = 12 if clusters < 4085 else 16 if clusters < 65525 else 32
    # The FAT must hold an entry for every cluster: a smaller one would be read past.
    if fat_size * bytes_per_sector * 8 < (clusters + 2) * bits:
        return None
    return FatLayout(offset, bytes_per_sector, per_cluster, reserved * bytes_per_sector, data_sector,
                     clusters, bits, root_cluster if bits == 32 else 0)


def cluster_of_sector(fat: FatLayout, sector: int) -> int | None:
    """The cluster holding file-system sector ``sector`` (TSK's block address on FAT)."""
    if sector < fat.data_sector:
        return None
    return (sector - fat.data_sector) // fat.sectors_per_cluster + 2


def _next(fat: FatLayout, read: Read, cluster: int) -> int | None:
    """The FAT entry of ``cluster``: the next cluster, or None at the chain's end or a bad entry."""
    if fat.bits == 12:
        raw = read(fat.offset + fat.fat_offset + cluster * 3 // 2, 2)
        if len(raw) < 2:
            return None
        value = struct.unpack("<H", raw)[0]
        value = value >> 4 if cluster & 1 else value & 0xFFF
        end = 0xFF7
    elif fat.bits == 16:
        raw = read(fat.offset + fat.fat_offset + cluster * 2, 2)
        if len(raw) < 2:
            return None
        value, end = struct.unpack("<H", raw)[0], 0xFFF7
    else:
        raw = read(fat.offset + fat.fat_offset + cluster * 4, 4)
        if len(raw) < 4:
            return None
        value, end = struct.unpack("<I", raw)[0] & 0x0FFFFFFF, 0x0FFFFFF7
    if value < 2 or value >= end or value > fat.clusters + 1:
        return None
    return value


def chain_loop(fat: FatLayout, read: Read, first: int) -> tuple[int, int] | None:
    """(cluster, earlier cluster it links back to) when the chain from
    ``first`` loops; None when it ends. At most one step per cluster."""
    seen = {first}
    cluster = first
    for _ in range(fat.clusters + 1):
        following = _next(fat, read, cluster)
        if following is None:
            return None
        if following in seen:
            return cluster, following
        seen.add(following)
        cluster = following
    return None


def loop_message(loop: tuple[int, int]) -> str:
    cluster, earlier = loop
    return (f"FAT cluster chain of this folder loops: cluster {cluster} links back to cluster {earlier}, "
            "a damaged or tampered file system; the folder is listed up to the loop")
