"""BeReal on iOS: the JSON caches the app keeps in ``Library/Caches``,
one folder per repository (``disk-bereal-<Name>/<hash>``), each file
``{"object": ...}``.

Caches understood (BeReal 0.x-1.x, 2022-2023):

* ``ProfileRepository``: the owner's profile: ``id``, ``username``,
  ``fullname``, ``phoneNumber``, ``createdAt`` (Cocoa seconds) and
  ``devices[].deviceId`` -> one ``device.account`` (BeReal user id and
  name), the account's phone number and the app's device ids as
  ``device.identifier``.
* ``RelationshipsFriendsListManager``, ``RelationshipsRequestReceivedListManager``,
  ``RelationshipsRequestSentListManager``, ``BlockedUserManager``: lists of
  users (``id``, ``username``, ``fullname``) -> ``comms.contact``, the list
  named in the record id ("friend:ID", "request_received:ID", "blocked:ID").
* ``RelationshipsContactsManager-contact``: the phone's address book as
  uploaded to BeReal (``givenName``, ``familyName``, ``phoneNumbers``)
  -> ``comms.contact``.

Files are read with the kit's bounded JSON reader; an entry of the wrong
type is named in one warning per file.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..plugin_kit import Account, Contact, DeviceIdentifier, DocumentError, clean, cocoa_iso, load_json, read_document

APP = "BeReal"
MAX_ENTRIES = 100_000
MAX_DOCUMENT = 8 << 20          # the caches are kilobytes
USER_LISTS = {"RelationshipsFriendsListManager": "friend", "RelationshipsRequestReceivedListManager": "request_received",
              "RelationshipsRequestSentListManager": "request_sent", "BlockedUserManager": "blocked"}
PROFILE = "ProfileRepository"
CONTACTS = "RelationshipsContactsManager-contact"


def _text(value: Any) -> str | None:
    return clean(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(text for text in (_text(item) for item in value[:MAX_ENTRIES]) if text)


def _repository(path: str) -> str | None:
    """The cache's repository name from its folder (``disk-bereal-<Name>``)."""
    parts = path.replace("\\", "/").split("/")
    folder = parts[-2] if len(parts) >= 2 else ""
    return folder[len("disk-bereal-"):] if folder.lower().startswith("disk-bereal-") else None


class IosBeRealPlugin(Plugin):
    """Owner profile, friends, requests, blocked users and uploaded contacts from BeReal's caches."""

    NAME = "ios_bereal"
    VERSION = "1.0"
    DESCRIPTION = "BeReal iOS caches (Library/Caches/disk-bereal-*: profile, friends, requests, blocked, contacts)"
    SELECTOR = Selector(globs=tuple(f"**/Library/Caches/disk-bereal-{name}/*"
                                    for name in (PROFILE, CONTACTS, *USER_LISTS)), max_size=MAX_DOCUMENT)
    SCHEMAS = {f"disk-bereal-{name}": "JSON {\"object\": ...} (BeReal 0.x-1.x)"
               for name in (PROFILE, CONTACTS, *USER_LISTS)}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        repository = next((name for name in (PROFILE, CONTACTS, *USER_LISTS)
                           if (_repository(file.path) or "").lower() == name.lower()), None)
        if repository is None:
            return
        try:
            document = load_json(read_document(file, file.locator, MAX_DOCUMENT), file.locator)
        except DocumentError as error:
            ctx.warn(f"{self.NAME}: {error}")
            return
        content = document.get("object") if isinstance(document, dict) else None
        expected = dict if repository == PROFILE else list
        if not isinstance(content, expected):
            ctx.warn(f"{self.NAME}: {file.locator}: \"object\" is not a {'dictionary' if expected is dict else 'list'}; "
                     "nothing read")
            return
        bad: list[str] = []
        if isinstance(content, list) and len(content) > MAX_ENTRIES:
            bad.append(f"[{MAX_ENTRIES}:] (more than {MAX_ENTRIES} entries)")
        if repository == PROFILE:
            yield from self._profile(content, bad)
        elif repository == CONTACTS:
            yield from self._contacts(content, bad)
        else:
            yield from self._users(content, USER_LISTS[repository], bad)
        if bad:
            ctx.warn(f"{self.NAME}: {file.locator}: entries of an unexpected type at {', '.join(bad[:10])}"
                     + (f" and {len(bad) - 10} more" if len(bad) > 10 else "") + "; not read")

    @staticmethod
    def _profile(profile: dict[str, Any], bad: list[str]) -> Iterator[Finding]:
        user_id = _text(profile.get("id"))
        record = f"profile:{user_id or '?'}"
        created = profile.get("createdAt")
        created = created if isinstance(created, (int, float)) and not isinstance(created, bool) else None
        yield Account(account_type="BeReal", username=_text(profile.get("username")), identifier=user_id,
                      source_app=APP, description=_text(profile.get("fullname")), provider="BeReal",
                      created=cocoa_iso(created),
                      source_record_id=record)
        phone = _text(profile.get("phoneNumber"))
        if phone:
            yield DeviceIdentifier("phone_number", phone, APP, source_record_id=f"{record}:phoneNumber")
        devices = profile.get("devices")
        if devices is not None and not isinstance(devices, list):
            bad.append("devices")
            return
        for index, device in enumerate((devices or [])[:MAX_ENTRIES]):
            device_id = _text(device.get("deviceId")) if isinstance(device, dict) else None
            if not isinstance(device, dict):
                bad.append(f"devices[{index}]")
            elif device_id:
                yield DeviceIdentifier("app_device_id", device_id, APP, source_record_id=f"{record}:devices[{index}]")

    @staticmethod
    def _users(users: list[Any], relation: str, bad: list[str]) -> Iterator[Contact]:
        for index, user in enumerate(users[:MAX_ENTRIES]):
            if not isinstance(user, dict):
                bad.append(f"[{index}]")
                continue
            user_id = _text(user.get("id"))
            yield Contact(name=_text(user.get("fullname")),
                          identifiers=tuple(v for v in (_text(user.get("username")), user_id) if v),
                          source_app=APP, source_record_id=f"{relation}:{user_id or index}")

    @staticmethod
    def _contacts(contacts: list[Any], bad: list[str]) -> Iterator[Contact]:
        for index, contact in enumerate(contacts[:MAX_ENTRIES]):
            if not isinstance(contact, dict):
                bad.append(f"[{index}]")
                continue
            name = " ".join(part for part in (_text(contact.get(key)) for key in (
                "givenName", "middleName", "familyName")) if part)
            yield Contact(name=name or _text(contact.get("nickName")), phone_numbers=_texts(contact.get("phoneNumbers")),
                          organisation=_text(contact.get("organizationName")), source_app=APP,
                          source_record_id=f"uploaded_contact:{index}")
