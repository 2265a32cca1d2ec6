"""Identifier and keyword extraction: phone numbers (E.164), e-mail
addresses, URLs, domains, checksum-validated cryptocurrency wallets, and
keyword-list hits on Arabic/Latin-normalised text.

One job per module: ``phones``, ``emails``, ``urls``, ``domains``,
``wallets`` (with ``base58`` and ``bech32``), ``arabic`` (normalisation),
``keyword_lists`` (YAML and plain keyword list files), ``keywords`` (matching), ``textdecode``/``markup``/``office``
/``sqlite_text``/``extract`` (getting text out of files), ``scan`` (all
finders over one text) and ``index`` (the cross-evidence identifier index).
"""

from .arabic import normalise as normalise_text
from .domains import normalise_domain
from .emails import normalise_email
from .keyword_lists import KeywordList, load_keyword_file, parse_keyword_lists, starter_lists
from .keywords import KeywordMatcher
from .phones import normalise_phone
from .scan import IdentifierHit, find_identifiers, find_keywords
from .urls import normalise_url
from .wallets import validate_wallet

__all__ = [
    "IdentifierHit", "KeywordList", "KeywordMatcher", "find_identifiers", "find_keywords",
    "load_keyword_file", "normalise_domain", "normalise_email", "normalise_phone", "normalise_text",
    "normalise_url", "parse_keyword_lists", "starter_lists", "validate_wallet",
]
