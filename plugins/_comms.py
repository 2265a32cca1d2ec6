"""The shared helpers of the built-in communication plugins. Their public
home is the plugin kit (``traffick_triage.plugin_kit``): the finding kinds in
``plugin_kit.comms``, the value helpers in ``plugin_kit.values``, deleted-record
recovery in ``plugin_kit.recovery``; this module keeps the names the built-ins import."""

from __future__ import annotations

from ..plugin_kit.comms import (ANSWERED_EXTERNALLY, BLOCKED, DRAFT, INCOMING, MISSED, OUTGOING, REJECTED,  # noqa: F401
                                UNKNOWN, VOICEMAIL, AppMessage, Call, ChatEvent, Contact, Message, recovered_events)
from ..plugin_kit.recovery import (PLAUSIBLE_YEARS, RecoveredRecord, call_accept, contact_accept,  # noqa: F401
                                   message_accept, plausible_time, record_accept, recovered)
from ..plugin_kit.values import (as_text, clean, cocoa_iso, number, unique, unix_ms_iso,  # noqa: F401
                                 unix_s_iso)
