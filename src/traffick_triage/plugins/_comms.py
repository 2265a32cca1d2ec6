"""The shared helpers of the built-in communication plugins. Their public
home is the plugin kit (``traffick_triage.plugin_kit``): the finding kinds in
``plugin_kit.comms``, the value helpers in ``plugin_kit.values``; this module
keeps the names the built-ins import."""

from __future__ import annotations

from ..plugin_kit.comms import (ANSWERED_EXTERNALLY, BLOCKED, DRAFT, INCOMING, MISSED, OUTGOING, REJECTED,  # noqa: F401
                                UNKNOWN, VOICEMAIL, AppMessage, Call, ChatEvent, Contact, Message)
from ..plugin_kit.values import (as_text, clean, cocoa_iso, number, unique, unix_ms_iso,  # noqa: F401
                                 unix_s_iso)
