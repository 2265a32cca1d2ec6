"""A hash set named with the type the examiner declares for it: ``pdq:FILE``.

A list of 64-hex values is SHA-256 or PDQ and nothing in the bare values tells
which; detection guesses (a ``# pdq`` comment or a quality column makes it
PDQ, anything else SHA-256). The examiner who knows says so, and the set is
then read as that type or refused: a declared set that holds no entry of its
type is a configuration mistake, not a set to scan with silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .sniff import detect_format

# Declared type -> the formats detection may find for a file of that type
# (the first one is what the file is read as when detection finds another).
DECLARED_TYPES: dict[str, tuple[str, ...]] = {
    "pdq": ("pdq",),
    "phash": ("phash",),
    "md5": ("plain",),
    "sha1": ("plain",),
    "sha256": ("plain",),
    "hashdeep": ("hashdeep", "md5deep"),
    "md5deep": ("md5deep", "hashdeep"),
    "vics": ("vics-json",),
    "icse": ("icse-csv",),
    "nsrl": ("nsrl-rds3",),
    "store": ("triage-store",),
}
# Formats that are databases: they are what they are, never re-read as another.
_DATABASES = {"nsrl-rds3", "triage-store"}
# Text formats whose 64-hex values have no type written beside them.
GUESSABLE_FORMATS = {"plain", "md5deep", "pdq"}


class DeclaredTypeError(ValueError):
    """A declared type that does not fit the file (one line for the user)."""


@dataclass(frozen=True)
class HashSetSpec:
    path: str
    declared: str | None = None     # a key of DECLARED_TYPES, or None: detected

    def text(self) -> str:
        """The spec as given on the command line (``TYPE:PATH`` or ``PATH``)."""
        return f"{self.declared}:{self.path}" if self.declared else self.path


def parse_hashset_spec(text: str) -> HashSetSpec:
    """``pdq:lists/a.txt`` -> declared PDQ; ``lists/a.txt`` -> detected. Only a
    known type before the first colon declares one (write ``./pdq:x`` for a
    file whose name starts so)."""
    head, colon, rest = str(text).partition(":")
    if colon and head.lower() in DECLARED_TYPES and rest:
        return HashSetSpec(rest, head.lower())
    return HashSetSpec(str(text))


def absolute_spec(text: str) -> str:
    """The spec with its path made absolute (for workers in other folders)."""
    spec = parse_hashset_spec(text)
    return HashSetSpec(str(Path(spec.path).absolute()), spec.declared).text()


def resolve_spec(text: str, base: Path) -> str:
    """The spec with a relative path taken from ``base`` (a case file's folder)."""
    spec = parse_hashset_spec(text)
    path = Path(spec.path).expanduser()
    return HashSetSpec(str(path if path.is_absolute() else base / path), spec.declared).text()


def format_for(spec: HashSetSpec) -> str:
    """The format to read the file as: detected, or forced by the declaration.
    Raises DeclaredTypeError when a declared type cannot be the file's."""
    detected = detect_format(spec.path)
    if spec.declared is None:
        return detected
    allowed = DECLARED_TYPES[spec.declared]
    if detected in allowed:
        return detected
    if detected in _DATABASES or allowed[0] in _DATABASES:
        raise DeclaredTypeError(f"{spec.path} is declared {spec.declared} but reads as {detected}")
    return allowed[0]
