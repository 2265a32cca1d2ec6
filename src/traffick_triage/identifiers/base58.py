"""Base58 as used by Bitcoin/TRON (big-number Base58Check) and by Monero
(fixed 8-byte blocks). Written from the specs rather than pulled from a
library so the checksum rules that decide "is this a wallet" are auditable
in one place."""

from __future__ import annotations

import hashlib

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}


class Base58Error(ValueError):
    pass


def b58encode(data: bytes) -> str:
    """Bitcoin-style Base58: the whole input is one big-endian number; each
    leading zero byte becomes a leading '1'."""
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        try:
            number = number * 58 + _INDEX[char]
        except KeyError:
            raise Base58Error(f"not a base58 character: {char!r}") from None
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + body


def _double_sha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def b58check_encode(payload: bytes) -> str:
    return b58encode(payload + _double_sha256(payload)[:4])


def b58check_decode(text: str) -> bytes:
    """The payload (version byte(s) + data) of a Base58Check string; raises
    Base58Error when the 4-byte double-SHA-256 checksum does not match."""
    raw = b58decode(text)
    if len(raw) < 5:
        raise Base58Error("too short for base58check")
    payload, checksum = raw[:-4], raw[-4:]
    if _double_sha256(payload)[:4] != checksum:
        raise Base58Error("base58check checksum mismatch")
    return payload


# --- Monero block base58 -------------------------------------------------
# Monero splits the data into 8-byte blocks, each encoded big-endian into a
# fixed 11 characters (a shorter last block into the width given here), so
# leading zero bytes are not special as they are in Bitcoin's scheme.
_XMR_FULL_BLOCK = 8
_XMR_ENCODED_SIZES = (0, 2, 3, 5, 6, 7, 9, 10, 11)   # index: bytes in the block
_XMR_DECODED_SIZES = {size: n for n, size in enumerate(_XMR_ENCODED_SIZES)}


def xmr_b58encode(data: bytes) -> str:
    out = []
    for start in range(0, len(data), _XMR_FULL_BLOCK):
        block = data[start:start + _XMR_FULL_BLOCK]
        number = int.from_bytes(block, "big")
        width = _XMR_ENCODED_SIZES[len(block)]
        chars = []
        for _ in range(width):
            number, digit = divmod(number, 58)
            chars.append(ALPHABET[digit])
        out.append("".join(reversed(chars)))
    return "".join(out)


def xmr_b58decode(text: str) -> bytes:
    full_chars = _XMR_ENCODED_SIZES[_XMR_FULL_BLOCK]
    out = bytearray()
    for start in range(0, len(text), full_chars):
        block = text[start:start + full_chars]
        size = _XMR_DECODED_SIZES.get(len(block))
        if not size:
            raise Base58Error("invalid Monero base58 block length")
        number = 0
        for char in block:
            try:
                number = number * 58 + _INDEX[char]
            except KeyError:
                raise Base58Error(f"not a base58 character: {char!r}") from None
        if number >> (8 * size):
            raise Base58Error("Monero base58 block overflows its size")
        out += number.to_bytes(size, "big")
    return bytes(out)
