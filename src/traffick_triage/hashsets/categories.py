"""Category names of the published schemes, keyed by the scheme's own codes.

Sources and caveats are in hashsets/FORMATS.md at the repository root. Codes
are never renumbered: an unknown code is kept as a number and named
"<scheme> category <n>" so nothing is silently mapped onto a wrong name.
"""

from __future__ import annotations

from decimal import Decimal

# Project VIC / VICS, United States profile.
VICS_US = {
    0: "Non-Pertinent",
    1: "Child Abuse Material",
    2: "Child Exploitation/Age Difficult",
    3: "CGI/Animation - Child Focused",
    4: "Comparison Images",
}

# VICS, United Kingdom (CAID) profile. Letters are the UK sentencing
# categories; the numeric codes are PROVISIONAL (see FORMATS.md) and can be
# overridden per reader with `category_names=`.
VICS_UK = {
    1: "Category A",
    2: "Category B",
    3: "Category C",
    4: "Non-Indecent",
}

SCHEMES = {"vics-us": VICS_US, "vics-uk": VICS_UK}

# NIST's own word for RDS files is "known" (the RDS says a file is known
# software, not that it is benign: it includes hacking and steganography
# tools). Entries still carry known_good=True so triage can de-prioritise
# them; see FORMATS.md before using that flag to exclude anything.
NSRL_CATEGORY = "known"


def to_code(value: object) -> int | None:
    """An integer category code from JSON/CSV values (1, "1", 1.0), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        return int(value) if value == int(value) else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and len(text) < 10:
            return int(text)
    return None


def resolve(value: object, scheme: str,
            names: dict[int, str] | None = None) -> tuple[str | None, int | None]:
    """(category name, category code) for a raw Category value.

    A numeric value is looked up in `names` (or the scheme's table); any other
    non-empty value is already words and is kept verbatim.
    """
    if value is None:
        return None, None
    code = to_code(value)
    if code is not None:
        table = names if names is not None else SCHEMES.get(scheme, {})
        return table.get(code, f"{scheme} category {code}"), code
    text = str(value).strip()
    return (text or None), None
