"""The one typed record every reader yields, and hex normalisation shared by all."""

from __future__ import annotations

from dataclasses import dataclass

_HEX = frozenset("0123456789abcdef")

# Cryptographic hash type is decided by hex length alone: the three digests we
# match on have distinct lengths, so a bare list needs no type column.
CRYPTO_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
PDQ_HEX_LEN = 64  # 256-bit PDQ hash
PHASH_HEX_LEN = 16  # 64-bit DCT pHash (imagehash's default hash_size=8)


def normalize_hex(value: object, length: int | None = None) -> str | None:
    """Lower-case hex string, or None when `value` is not hex (of `length`)."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if not text or (length is not None and len(text) != length):
        return None
    if not _HEX.issuperset(text):
        return None
    return text


def crypto_kind(hex_text: str) -> str | None:
    """'md5' / 'sha1' / 'sha256' for a normalised hex string, by its length."""
    return CRYPTO_BY_LENGTH.get(len(hex_text))


@dataclass(frozen=True, slots=True)
class HashEntry:
    """One known file (or perceptual hash) from one hash set.

    `category` is kept in the set's own words and `category_code` is the
    number the set used, never renumbered: reports must quote the source.
    """

    set_name: str
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    phash: str | None = None
    category: str | None = None
    category_code: int | None = None
    scheme: str = "plain"
    series: str | None = None
    label: str | None = None
    victim_identified: bool | None = None
    is_distributed: bool | None = None
    known_good: bool = False
    pdq_quality: int | None = None

    def has_hash(self) -> bool:
        return any((self.md5, self.sha1, self.sha256, self.pdq, self.phash))

    def sort_key(self) -> tuple:
        """Total order used wherever results are listed (deterministic output)."""
        def s(v: object) -> str:
            return "" if v is None else str(v)
        return (self.set_name, s(self.sha256), s(self.sha1), s(self.md5), s(self.pdq),
                s(self.phash), s(self.category_code), s(self.category), s(self.series),
                s(self.label), s(self.victim_identified), s(self.is_distributed),
                self.known_good, s(self.pdq_quality), self.scheme)
