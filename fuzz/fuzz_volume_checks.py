"""Atheris fuzz target: the disk-structure parsers the project owns, on
arbitrary bytes taken as the first sectors of a disk: the MBR and GPT
readers and checks (volume_checks: partition entries, CRCs, two tables,
the extended-partition chain), the grouped overlap check over partitions
built from the bytes, and the FAT chain follower (fat_chains). None may
raise, and each must end in bounded steps (the chain followers remember
every sector or cluster they visit).

    .venv/bin/python fuzz/fuzz_volume_checks.py -atheris_runs=100000

See fuzz/README.md."""

from __future__ import annotations

import struct
import sys

import atheris

with atheris.instrument_imports(include=["traffick_triage"]):
    from traffick_triage.sources import fat_chains, volume_checks


def TestOneInput(data: bytes) -> None:
    if len(data) < 2:
        return
    choice, disk = data[0], data[1:]

    def read(offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise AssertionError(f"negative read {offset}, {length}")
        return disk[offset:offset + length]

    block_size = 512 if choice & 1 else 4096
    scheme = ("MBR", "GPT", None)[(choice >> 1) % 3]
    volumes = []
    for index in range(min(len(disk) // 8, 64)):
        offset, length = struct.unpack_from("<HH", disk, index * 4)
        volumes.append({"label": f"p{index + 1}", "offset": offset, "length": length})
    problems = volume_checks.partition_table(volumes, len(disk), scheme, read, block_size)
    for message, segments in problems:
        if not isinstance(message, str) or not isinstance(segments, tuple):
            raise AssertionError("a problem is (message, segments)")
    volume_checks.extended_chain_loop(read, block_size)
    volume_checks.gpt_entries(read, block_size)
    layout = fat_chains.layout(read, 0)
    if layout is not None:
        for first in (2, layout.root_cluster or 2, (choice % 64) + 2):
            loop = fat_chains.chain_loop(layout, read, first)
            if loop is not None:
                fat_chains.loop_message(loop)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
