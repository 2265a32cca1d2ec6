"""Cellular identifiers an iPhone keeps in CommCenter's preferences (in
/private/var/wireless/Library/Preferences): the IMEI of the phone, the
IMSI and ICCID of its SIM, its phone number and carrier, what a
preservation request to a carrier names.

Keys understood (iOS 12 to 17; each read when present):

* ``com.apple.commcenter.device_specific_nobackup.plist``: ``imeis`` (a
  list of ``{first: slot, second: IMEI}``), ``meid``, ``ReportedPhoneNumber``,
  ``ReportedSubscriberIdentity`` (the ICCID), ``subscriber_account_ids``
  (slot pairs, the subscription's id), ``kOperatorRoamingInfo_Subscriber_CarrierBundleID``.
* ``com.apple.commcenter.plist``: ``PhoneNumber``, ``LastKnownICCID``,
  ``com.apple.carrier_1``/``_2`` (carrier id per slot), and per SIM under
  ``PersonalWallet/<subscription>``: ``CarrierEntitlements`` (IMEI and IMSI
  the carrier registered: ``kEntitlementsSelfRegistrationUpdateImei``,
  ``kEntitlementsSelfRegistrationUpdateImsi``, ``lastGoodImsi``) and
  ``phonebook`` (``CopiedSIMPhoneNumber``, ``PNRPhoneNumber``).

One finding per (type, value) in a file, its record id the first key path
it was found at; values are kept as found ("19195794674" and "+19195794674"
are two findings). A key of an unexpected type (or a list over the bound) is named in one
warning per file.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..plugin_kit import DeviceIdentifier, clean, plist_dictionary

APP = "iOS CommCenter"
MAX_SLOTS = 64          # SIM slots / subscriptions read per list (phones have one to three)

# Top-level keys holding one value: key -> identifier type.
SINGLE = {
    "ReportedPhoneNumber": "phone_number", "PhoneNumber": "phone_number",
    "ReportedSubscriberIdentity": "ICCID", "LastKnownICCID": "ICCID",
    "meid": "MEID",
    "kOperatorRoamingInfo_Subscriber_CarrierBundleID": "carrier",
    "com.apple.carrier_1": "carrier", "com.apple.carrier_2": "carrier",
}
# Top-level lists of {first: slot, second: value}.
SLOT_LISTS = {"imeis": "IMEI", "subscriber_account_ids": "subscription_id"}
# Inside PersonalWallet/<subscription>: (group, key) -> identifier type.
WALLET = {
    ("CarrierEntitlements", "kEntitlementsSelfRegistrationUpdateImei"): "IMEI",
    ("CarrierEntitlements", "kEntitlementsSelfRegistrationUpdateImsi"): "IMSI",
    ("CarrierEntitlements", "lastGoodImsi"): "IMSI",
    ("phonebook", "CopiedSIMPhoneNumber"): "phone_number",
    ("phonebook", "PNRPhoneNumber"): "phone_number",
}


def _value(value: Any) -> str | None | bool:
    """The identifier as text; None when empty; False when of a type no identifier has."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    return clean(value)


class IosCellularPlugin(Plugin):
    """IMEI, IMSI, ICCID, MEID, phone numbers and carrier from CommCenter's plists."""

    NAME = "ios_cellular"
    VERSION = "1.0"
    DESCRIPTION = "iOS cellular identifiers (com.apple.commcenter.plist, ...device_specific_nobackup.plist)"
    SELECTOR = Selector(globs=("**/wireless/Library/Preferences/com.apple.commcenter.plist",
                               "**/wireless/Library/Preferences/com.apple.commcenter.device_specific_nobackup.plist",
                               "com.apple.commcenter.plist", "com.apple.commcenter.device_specific_nobackup.plist"))
    SCHEMAS = {"com.apple.commcenter*.plist": "iOS 12-17 keys: " + ", ".join(
        sorted(SINGLE) + sorted(SLOT_LISTS) + [f"PersonalWallet/*/{g}/{k}" for g, k in sorted(WALLET)])}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        document = plist_dictionary(file, ctx, self.NAME, "identifiers")
        if document is None:
            return
        found: dict[tuple[str, str], str] = {}
        bad: list[str] = []

        def add(kind: str, value: Any, where: str) -> None:
            text = _value(value)
            if text is False:
                bad.append(where)
            elif text:
                found.setdefault((kind, text), where)

        for key, kind in SINGLE.items():
            if key in document:
                add(kind, document[key], key)
        for key, kind in SLOT_LISTS.items():
            if key not in document:
                continue
            pairs = document[key]
            if not isinstance(pairs, list):
                bad.append(key)
                continue
            if len(pairs) > MAX_SLOTS:
                bad.append(f"{key}[{MAX_SLOTS}:] (more than {MAX_SLOTS} slots)")
            for index, pair in enumerate(pairs[:MAX_SLOTS]):
                if isinstance(pair, dict) and "second" in pair:
                    add(kind, pair["second"], f"{key}[{index}]")
                else:
                    bad.append(f"{key}[{index}]")
        wallet = document.get("PersonalWallet")
        if isinstance(wallet, dict):
            if len(wallet) > MAX_SLOTS:
                bad.append(f"PersonalWallet (more than {MAX_SLOTS} subscriptions)")
            for subscription in sorted(str(k) for k in wallet)[:MAX_SLOTS]:
                entry = wallet[subscription]
                for (group, key), kind in WALLET.items():
                    values = entry.get(group) if isinstance(entry, dict) else None
                    if isinstance(values, dict) and key in values:
                        add(kind, values[key], f"PersonalWallet/{subscription}/{group}/{key}")
        elif wallet is not None:
            bad.append("PersonalWallet")
        if bad:
            ctx.warn(f"{self.NAME}: {file.locator}: unexpected value type at {', '.join(bad[:10])}"
                     + (f" and {len(bad) - 10} more" if len(bad) > 10 else "") + "; not read")
        for (kind, value), where in sorted(found.items(), key=lambda item: (item[1], item[0])):
            yield DeviceIdentifier(identifier_type=kind, value=value, source_app=APP, source_record_id=where)
