"""Bech32 (BIP-173) and Bech32m (BIP-350), and SegWit address decoding with
the witness-version rules: version 0 must use Bech32 and a 20- or 32-byte
program; versions 1..16 must use Bech32m and a 2..40-byte program."""

from __future__ import annotations

from enum import Enum

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {char: value for value, char in enumerate(CHARSET)}
_BECH32M_CONST = 0x2BC830A3
MAX_LENGTH = 90


class Encoding(Enum):
    BECH32 = 1
    BECH32M = 2


def _polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            checksum ^= generator[i] if ((top >> i) & 1) else 0
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data: list[int], spec: Encoding) -> list[int]:
    const = 1 if spec is Encoding.BECH32 else _BECH32M_CONST
    polymod = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ const
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def bech32_encode(hrp: str, data: list[int], spec: Encoding) -> str:
    combined = data + _create_checksum(hrp, data, spec)
    return hrp + "1" + "".join(CHARSET[d] for d in combined)


def bech32_decode(text: str) -> tuple[str, list[int], Encoding] | None:
    """(hrp, data without checksum, encoding) or None when invalid."""
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        return None
    if text.lower() != text and text.upper() != text:
        return None   # mixed case is forbidden
    text = text.lower()
    separator = text.rfind("1")
    if separator < 1 or separator + 7 > len(text) or len(text) > MAX_LENGTH:
        return None
    hrp = text[:separator]
    try:
        data = [_CHARSET_INDEX[c] for c in text[separator + 1:]]
    except KeyError:
        return None
    const = _polymod(_hrp_expand(hrp) + data)
    if const == 1:
        spec = Encoding.BECH32
    elif const == _BECH32M_CONST:
        spec = Encoding.BECH32M
    else:
        return None
    return hrp, data[:-6], spec


def convertbits(data: list[int] | bytes, frombits: int, tobits: int, pad: bool = True) -> list[int] | None:
    """Regroup bits; None on invalid padding (BIP-173's rule: at most 4
    padding bits when decoding, and they must be zero)."""
    acc = 0
    bits = 0
    out = []
    maxv = (1 << tobits) - 1
    max_acc = (1 << (frombits + tobits - 1)) - 1
    for value in data:
        if value < 0 or value >> frombits:
            return None
        acc = ((acc << frombits) | value) & max_acc
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return out


def decode_segwit(hrp: str, address: str) -> tuple[int, bytes] | None:
    """(witness version, witness program) for a valid SegWit address with
    the given human-readable part, else None."""
    decoded = bech32_decode(address)
    if decoded is None:
        return None
    got_hrp, data, spec = decoded
    if got_hrp != hrp or not data:
        return None
    version = data[0]
    program = convertbits(data[1:], 5, 8, pad=False)
    if program is None or not 2 <= len(program) <= 40 or version > 16:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    if (version == 0) != (spec is Encoding.BECH32):
        return None
    return version, bytes(program)


def encode_segwit(hrp: str, version: int, program: bytes) -> str | None:
    spec = Encoding.BECH32 if version == 0 else Encoding.BECH32M
    data = convertbits(program, 8, 5)
    if data is None:
        return None
    address = bech32_encode(hrp, [version] + data, spec)
    return address if decode_segwit(hrp, address) is not None else None
