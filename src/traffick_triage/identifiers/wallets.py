"""Cryptocurrency wallet addresses, reported only when their checksum holds.

Kinds (``wallet_type``): btc-base58 (P2PKH/P2SH, mainnet and testnet),
btc-bech32 (SegWit v0 Bech32 and v1+ Bech32m), eth (EIP-55), tron, xmr.

Ethereum policy: a mixed-case address must pass EIP-55; an all-lower or
all-upper address carries no checksum, is accepted (explorers, JSON APIs and
logs write addresses in lower case, so dropping them would lose most of the
evidence) and is marked ``checksummed=False``. The canonical value is always
the EIP-55 form, so both spellings of one address index together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from Crypto.Hash import keccak

from .base58 import Base58Error, b58check_decode, xmr_b58decode
from .bech32 import decode_segwit


@dataclass(frozen=True)
class Wallet:
    wallet_type: str
    value: str            # canonical spelling
    network: str          # "mainnet", "testnet", "stagenet"
    checksummed: bool     # False only for case-less Ethereum addresses that
                          # are not already in their EIP-55 spelling
    as_found: str
    start: int
    end: int


# Every address is a maximal run of ASCII letters and digits (nothing
# alphanumeric glued on either side). One pass finds the runs long enough to
# be an address; the shape tests below pick the validator. (Five separate
# regexes with boundary lookarounds cost five full scans of the text.)
_TOKEN_RE = re.compile(r"[0-9A-Za-z]{14,}")
_MIN_TOKEN = 14
# For finding the runs fast: ASCII letters and digits -> "a", every other byte -> " ".
_RUN_BYTES = bytes(0x61 if chr(b).isascii() and chr(b).isalnum() else 0x20 for b in range(256))
_ETH_SHAPE = re.compile(r"0x[0-9a-fA-F]{40}")
_BTC_VERSIONS = {0x00: "mainnet", 0x05: "mainnet", 0x6F: "testnet", 0xC4: "testnet"}
_BECH32_HRPS = {"bc": "mainnet", "tb": "testnet"}
# Monero network byte (a one-byte varint) -> (network, address bytes length).
# Standard and subaddress: 1 + 32 + 32 + 4; integrated adds an 8-byte payment id.
_XMR_PREFIXES = {
    18: ("mainnet", 69), 42: ("mainnet", 69), 19: ("mainnet", 77),
    53: ("testnet", 69), 63: ("testnet", 69), 54: ("testnet", 77),
    24: ("stagenet", 69), 36: ("stagenet", 69), 25: ("stagenet", 77),
}


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def eip55_checksum(address: str) -> str:
    """The EIP-55 spelling of a 0x-prefixed 40-hex-digit address."""
    body = address[2:].lower()
    digest = keccak256(body.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c in "abcdef" and int(digest[i], 16) >= 8 else c
                          for i, c in enumerate(body))


def validate_btc_base58(text: str) -> tuple[str, str] | None:
    """(canonical, network) or None."""
    try:
        payload = b58check_decode(text)
    except Base58Error:
        return None
    if len(payload) != 21 or payload[0] not in _BTC_VERSIONS:
        return None
    return text, _BTC_VERSIONS[payload[0]]


def validate_btc_bech32(text: str) -> tuple[str, str] | None:
    lowered = text.lower()
    hrp = lowered[:2]
    if hrp not in _BECH32_HRPS or decode_segwit(hrp, text) is None:
        return None
    return lowered, _BECH32_HRPS[hrp]


def validate_eth(text: str) -> tuple[str, bool] | None:
    """(canonical EIP-55 form, checksummed) or None when a mixed-case
    address fails EIP-55."""
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        return None
    canonical = eip55_checksum(text)
    if text == canonical:
        return canonical, True   # includes the EIP's all-caps examples
    body = text[2:]
    if body == body.lower() or body == body.upper():
        return canonical, False  # case-less spelling: no checksum to verify
    return None


def validate_tron(text: str) -> str | None:
    try:
        payload = b58check_decode(text)
    except Base58Error:
        return None
    if len(payload) != 21 or payload[0] != 0x41:
        return None
    return text


def validate_xmr(text: str) -> str | None:
    """Network name or None. Checksum: first 4 bytes of keccak-256 over the
    prefix and keys."""
    if len(text) not in (95, 106):
        return None
    try:
        raw = xmr_b58decode(text)
    except Base58Error:
        return None
    if not raw or raw[0] not in _XMR_PREFIXES:
        return None
    network, length = _XMR_PREFIXES[raw[0]]
    if len(raw) != length:
        return None
    if keccak256(raw[:-4])[:4] != raw[-4:]:
        return None
    return network


def _classify(token: str) -> tuple[str, str, str, bool] | None:
    """(wallet_type, canonical, network, checksummed) for one token."""
    length = len(token)
    first = token[0]
    if length == 42 and token[:2] == "0x":
        eth = validate_eth(token) if _ETH_SHAPE.fullmatch(token) else None
        return ("eth", eth[0], "evm", eth[1]) if eth else None
    if token[:3].lower() in ("bc1", "tb1"):
        bech = validate_btc_bech32(token)
        return ("btc-bech32", bech[0], bech[1], True) if bech else None
    if length == 34 and first == "T":
        return ("tron", token, "mainnet", True) if validate_tron(token) else None
    if 26 <= length <= 35 and first in "13mn2":
        btc = validate_btc_base58(token)
        return ("btc-base58", btc[0], btc[1], True) if btc else None
    if length in (95, 106) and first in "4589AB":
        network = validate_xmr(token)
        return ("xmr", token, network, True) if network else None
    return None


def _tokens(text: str, ascii: bytes | None = None) -> Iterator[re.Match[str]]:
    """``_TOKEN_RE.finditer(text)``: the maximal runs of 14 or more ASCII
    letters and digits. The regex scan tries every position (~60 MB/s); here
    the text becomes one byte per character ("?" for anything not ASCII),
    letters and digits "a", the rest " ", and a substring search for 14 "a"s
    finds each run's start, which the regex then extends. ``ascii``: the
    text encoded ASCII with "replace", if the caller has it already."""
    if ascii is None:
        ascii = text.encode("ascii", "replace")
    marks = ascii.translate(_RUN_BYTES)
    needle = b"a" * _MIN_TOKEN
    position = 0
    while (start := marks.find(needle, position)) >= 0:
        token = _TOKEN_RE.match(text, start)
        if token is None:        # cannot happen: the marks say 14 letters or digits start here
            return
        yield token
        position = token.end()


def find_wallets(text: str, ascii: bytes | None = None) -> Iterator[Wallet]:
    """Every checksum-valid wallet address in ``text``, in text order
    (``ascii``: see ``_tokens``)."""
    for match in _tokens(text, ascii):
        result = _classify(match.group())
        if result is not None:
            wallet_type, value, network, checksummed = result
            yield Wallet(wallet_type, value, network, checksummed, match.group(), *match.span())


def validate_wallet(text: str) -> Wallet | None:
    """The wallet ``text`` is exactly, or None (used to canonicalise values
    coming from other plugins)."""
    text = text.strip()
    for wallet in find_wallets(text):
        if wallet.start == 0 and wallet.end == len(text):
            return wallet
    return None
