"""A complete traffick-triage plugin in one file: copy it, rename the class,
change NAME/VERSION/DESCRIPTION/SELECTOR and ``extract``.

Run it without installing anything:

    triage plugins --plugin-dir examples
    triage scan EVIDENCE -o CASE_DIR --plugin-dir examples --only bitcoin_wallet_dat

This example flags Bitcoin Core wallet files (``wallet.dat``, a Berkeley DB
or, since Bitcoin Core 0.21, an SQLite file), which in trafficking cases can
hold the keys to payments. Test it the way the built-ins are tested:
``traffick_triage.plugin_host.run_plugin(Plugin(), file_view_for_path(path))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator

from traffick_triage.plugin_api import Context, FileView, Finding, Plugin, Selector

_BERKELEY_DB_BTREE_MAGIC = b"\x62\x31\x05\x00"     # at offset 12, either byte order
_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class WalletFile(Finding):
    """One finding type per fact; fields are plain JSON values."""

    KIND: ClassVar[str] = "example.wallet_file"
    storage: str          # "berkeley-db" or "sqlite"
    size: int


class BitcoinWalletDat(Plugin):
    NAME = "bitcoin_wallet_dat"
    VERSION = "1.0.0"
    DESCRIPTION = "Flags Bitcoin Core wallet.dat files (Berkeley DB or SQLite)"
    SELECTOR = Selector(globs=("wallet.dat", "**/wallets/*/wallet.dat"), max_size=512 << 20)

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        head = file.read(64)
        if head.startswith(_SQLITE_MAGIC):
            yield WalletFile(storage="sqlite", size=file.size)
        elif head[12:16] in (_BERKELEY_DB_BTREE_MAGIC, _BERKELEY_DB_BTREE_MAGIC[::-1]):
            yield WalletFile(storage="berkeley-db", size=file.size)
        else:
            # Errors are data: a warning counted in the report, never a print.
            ctx.warn("named wallet.dat but neither a Berkeley DB nor an SQLite file")
