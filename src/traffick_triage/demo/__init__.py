"""The synthetic training case, built on the spot (nothing downloaded, no
real material): ``triage demo build DIR [--seed N]`` writes

* ``DIR/evidence/laptop.E01``: a seized laptop (MBR; ext4, FAT32 and FAT16
  partitions; deleted files; images renamed .dll and .txt; known system files),
* ``DIR/evidence/phone.zip``: an Android-style export (contacts2.db,
  calllog.db, mmssms.db, vCards with Arabic names, geotagged photos),
* ``DIR/hashsets/``: hash sets in five formats listing benign generated
  images that stand in for known material, and an NSRL-style database,
* ``DIR/answers.json``: the answer key, written from what was planted.

Every byte depends only on the seed (see :mod:`.disk` for how the E01 and
the file systems are made reproducible). The workshop (docs/workshop/)
is built on this case.
"""

from __future__ import annotations

from pathlib import Path

from .android import _sms_db
from .case import (AGENCY, CASE_NUMBER, EVIDENCE_IDS, EXAMINER, REGION, build_case, hashset_paths)
from .disk import DemoError
from .media import _dms, synthetic_photo

DEFAULT_SEED = 7


def build_demo(directory: str | Path, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Build the training case under ``directory``; returns the evidence items
    (``laptop``, ``phone``) in scan order. The hash sets are in
    ``directory/hashsets`` (:func:`hashset_paths`), the key in ``directory/answers.json``."""
    built = build_case(Path(directory), seed)
    return {"laptop": built["laptop"], "phone": built["phone"]}


def scan_options(directory: str | Path) -> dict:
    """What `triage demo run` scans with: evidence ids, case fields, options, hash sets."""
    return {"evidence_ids": list(EVIDENCE_IDS),
            "case": {"case_number": CASE_NUMBER, "examiner": EXAMINER, "agency": AGENCY},
            "plugin_options": {"region": REGION, "training": True},
            # Not carved (as --no-carve): the answer key and the workshop's
            # answers list what the walk finds; PhotoRec would add a carved copy
            # of the deleted IMG_0042.jpg (noted "same content as" it).
            "source_options": {"carve": False},
            "hashsets": [str(p) for p in hashset_paths(Path(directory))]}


__all__ = ["build_demo", "scan_options", "hashset_paths", "DemoError", "DEFAULT_SEED", "synthetic_photo",
           "_dms", "_sms_db"]
