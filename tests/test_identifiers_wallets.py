"""Wallet checksum validation against published test vectors: BIP-173 and
BIP-350 (sipa/bech32 reference lists), EIP-55, and well-known published
addresses (Bitcoin genesis, BIP-13 style P2SH, TRON USDT contract, Monero
General Fund donation address). Each valid address with one character
changed must be rejected."""

from __future__ import annotations

import pytest

from traffick_triage.identifiers.base58 import ALPHABET, b58check_decode, Base58Error
from traffick_triage.identifiers.bech32 import CHARSET, Encoding, bech32_decode, decode_segwit
from traffick_triage.identifiers.wallets import (eip55_checksum, find_wallets, validate_btc_bech32,
                                                 validate_eth, validate_wallet)

# --- BIP-173 / BIP-350 -----------------------------------------------------

VALID_BECH32 = [
    "A12UEL5L", "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]
VALID_BECH32M = [
    "A1LQFN3A", "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]
INVALID_BECH32 = [
    " 1nwldj5", "\x7f1axkwrx", "\x801eym55h",
    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
    "pzry9x0s0muk", "1pzry9x0s0muk", "x1b4n0q5v", "li1dgmt3", "de1lg7wt\xff", "A1G7SGD8",
    "10a06t8", "1qzzfhee",
]
INVALID_BECH32M = [
    " 1xj0phk", "\x7f1g6xzxy", "\x801vctc34",
    "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
    "qyrz8wqd2c9m", "1qyrz8wqd2c9m", "y1b0jsk6g", "lt1igcx5c0", "in1muywd", "mm1crxm3i",
    "au1s5cgom", "M1VUXWEZ", "16plkw9", "1p2gdwpf",
]
VALID_SEGWIT = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
     "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"),
    ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
     "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    ("tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
     "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
    ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
     "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
     "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
]
INVALID_SEGWIT_BIP350 = [
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
    "bc1pw5dgrnzv",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
    "bc1gmk9yu",
]
# BIP-173's original invalid list (still invalid), plus its v1+ examples that
# were "valid" under BIP-173 but use Bech32 where BIP-350 demands Bech32m.
INVALID_SEGWIT_BIP173 = [
    "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
    "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2",
    "bc1rw5uspcuh",
    "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",
    "bc1gmk9yu",
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
    "BC1SW50QA3JX3S",
    "bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj",
]


def _flip_data_char(text: str, alphabet: str) -> str:
    """The same string with one character (in the data part, not a prefix)
    replaced by the next character of ``alphabet`` in the same case."""
    position = len(text) // 2
    char = text[position]
    lowered = char.lower() if char.lower() in alphabet else char
    index = alphabet.index(lowered)
    replacement = alphabet[(index + 1) % len(alphabet)]
    if char.isupper():
        replacement = replacement.upper()
    return text[:position] + replacement + text[position + 1:]


@pytest.mark.parametrize("text", VALID_BECH32)
def test_valid_bech32_checksums(text):
    decoded = bech32_decode(text)
    assert decoded is not None and decoded[2] is Encoding.BECH32
    separator = text.rfind("1")
    broken = text[:separator + 1] + chr(ord(text[separator + 1]) ^ 1) + text[separator + 2:]
    assert bech32_decode(broken) is None


@pytest.mark.parametrize("text", VALID_BECH32M)
def test_valid_bech32m_checksums(text):
    decoded = bech32_decode(text)
    assert decoded is not None and decoded[2] is Encoding.BECH32M


@pytest.mark.parametrize("text", INVALID_BECH32)
def test_invalid_bech32(text):
    decoded = bech32_decode(text)
    assert decoded is None or decoded[2] is not Encoding.BECH32


@pytest.mark.parametrize("text", INVALID_BECH32M)
def test_invalid_bech32m(text):
    decoded = bech32_decode(text)
    assert decoded is None or decoded[2] is not Encoding.BECH32M


@pytest.mark.parametrize("address,script", VALID_SEGWIT)
def test_valid_segwit_addresses(address, script):
    hrp = address[:2].lower()
    version, program = decode_segwit(hrp, address)
    assert bytes([version + 0x50 if version else 0, len(program)]) + program == bytes.fromhex(script)
    wallet = validate_wallet(address)
    assert wallet is not None and wallet.wallet_type == "btc-bech32"
    assert wallet.value == address.lower()
    assert wallet.network == ("mainnet" if hrp == "bc" else "testnet")
    assert validate_wallet(_flip_data_char(address, CHARSET)) is None


@pytest.mark.parametrize("address", INVALID_SEGWIT_BIP350 + INVALID_SEGWIT_BIP173)
def test_invalid_segwit_addresses(address):
    assert decode_segwit("bc", address) is None
    assert decode_segwit("tb", address) is None
    assert validate_btc_bech32(address) is None
    assert not [w for w in find_wallets(address) if w.wallet_type == "btc-bech32"]


# --- Base58Check: Bitcoin -------------------------------------------------

BTC_BASE58 = [
    ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "mainnet"),   # genesis block coinbase (P2PKH)
    ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "mainnet"),   # P2SH example from the Bitcoin wiki
    ("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "testnet"),   # testnet P2PKH (version 0x6f)
    ("2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", "testnet"),  # testnet P2SH (version 0xc4)
]


@pytest.mark.parametrize("address,network", BTC_BASE58)
def test_bitcoin_base58check(address, network):
    wallet = validate_wallet(address)
    assert wallet is not None
    assert (wallet.wallet_type, wallet.value, wallet.network) == ("btc-base58", address, network)
    assert validate_wallet(_flip_data_char(address, ALPHABET)) is None
    with pytest.raises(Base58Error):
        b58check_decode(_flip_data_char(address, ALPHABET))


def test_base58check_with_wrong_version_is_not_bitcoin():
    # A valid TRON address is valid base58check but version 0x41: not bitcoin.
    assert b58check_decode("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")[0] == 0x41
    assert validate_wallet("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").wallet_type == "tron"


# --- EIP-55 ------------------------------------------------------------------

EIP55_EXAMPLES = [
    # all caps
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    # all lower
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    # normal
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize("address", EIP55_EXAMPLES)
def test_eip55_examples_are_their_own_checksum(address):
    assert eip55_checksum(address) == address
    assert eip55_checksum(address.lower()) == address
    wallet = validate_wallet(address)
    assert wallet.wallet_type == "eth" and wallet.value == address and wallet.checksummed


@pytest.mark.parametrize("address", EIP55_EXAMPLES[4:])
def test_eip55_one_character_changed_is_rejected(address):
    body = address[2:]
    index = next(i for i, c in enumerate(body) if c.isalpha())
    case_flipped = "0x" + body[:index] + body[index].swapcase() + body[index + 1:]
    assert validate_eth(case_flipped) is None
    assert validate_wallet(case_flipped) is None


def test_eip55_hex_digit_changed_is_rejected():
    address = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    changed = address[:-1] + "e"          # d -> e keeps it mixed case
    assert validate_wallet(changed) is None


def test_unchecksummed_case_less_ethereum_address_is_accepted_and_canonicalised():
    lower = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    upper = "0x" + lower[2:].upper()
    for spelling in (lower, upper):
        wallet = validate_wallet(spelling)
        assert wallet.value == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        assert wallet.checksummed is False


# --- TRON and Monero ------------------------------------------------------

TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"   # Tether USDT TRC-20 contract
MONERO = ("44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7Sq"
          "SsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A")  # Monero General Fund donation address


def test_tron_address():
    wallet = validate_wallet(TRON)
    assert (wallet.wallet_type, wallet.value) == ("tron", TRON)
    assert validate_wallet(_flip_data_char(TRON, ALPHABET)) is None


def test_monero_standard_address():
    wallet = validate_wallet(MONERO)
    assert (wallet.wallet_type, wallet.value, wallet.network) == ("xmr", MONERO, "mainnet")
    for position in (1, 30, 60, 94):
        char = MONERO[position]
        replacement = ALPHABET[(ALPHABET.index(char) + 1) % 58]
        mutated = MONERO[:position] + replacement + MONERO[position + 1:]
        assert validate_wallet(mutated) is None, position


def test_wallets_found_in_running_text_with_boundaries():
    text = f"send to {TRON}, or xmr:{MONERO}. not: x{TRON} nor {TRON}x"
    found = [(w.wallet_type, w.start) for w in find_wallets(text)]
    assert ("tron", 8) in found
    assert sum(1 for kind, _ in found if kind == "tron") == 1
    assert sum(1 for kind, _ in found if kind == "xmr") == 1
