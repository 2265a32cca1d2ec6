"""Android Digital Wellbeing (com.google.android.apps.wellbeing): its
``app_usage`` database copies the system's usage events, so it says which
app was opened, left, or sent a notification, and when the phone was
unlocked, started or shut down, to the millisecond, for weeks back.

Schema understood: ``events(_id, timestamp, type, package_id)`` joined to
``packages(_id, package_name)``; ``instance_id`` and
``task_root_package_id`` (the app whose task the activity ran in) when
present (Wellbeing 1.x-2.x, Android 9-14). ``timestamp`` is Unix
milliseconds (UTC). ``type`` is Android's ``UsageEvents.Event`` constant
(1 ACTIVITY_RESUMED, 2 ACTIVITY_PAUSED, 12 NOTIFICATION_INTERRUPTION,
18 KEYGUARD_HIDDEN, 26 DEVICE_SHUTDOWN, 27 DEVICE_STARTUP...), kept as
found and named when known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator, Sequence

from ..plugin_api import Finding, TimelineEvent
from ..plugin_kit import QueryVersion, RowSource, SqlQuery, SqliteArtifactPlugin, clean, integer, unix_ms_iso

APP = "Digital Wellbeing"
# android.app.usage.UsageEvents.Event (AOSP, API 28-34).
EVENT_NAMES = {
    0: "NONE", 1: "ACTIVITY_RESUMED", 2: "ACTIVITY_PAUSED", 3: "END_OF_DAY", 4: "CONTINUE_PREVIOUS_DAY",
    5: "CONFIGURATION_CHANGE", 6: "SYSTEM_INTERACTION", 7: "USER_INTERACTION", 8: "SHORTCUT_INVOCATION",
    9: "CHOOSER_ACTION", 10: "NOTIFICATION_SEEN", 11: "STANDBY_BUCKET_CHANGED", 12: "NOTIFICATION_INTERRUPTION",
    13: "SLICE_PINNED_PRIV", 14: "SLICE_PINNED", 15: "SCREEN_INTERACTIVE", 16: "SCREEN_NON_INTERACTIVE",
    17: "KEYGUARD_SHOWN", 18: "KEYGUARD_HIDDEN", 19: "FOREGROUND_SERVICE_START", 20: "FOREGROUND_SERVICE_STOP",
    21: "CONTINUING_FOREGROUND_SERVICE", 22: "ROLLOVER_FOREGROUND_SERVICE", 23: "ACTIVITY_STOPPED",
    24: "ACTIVITY_DESTROYED", 25: "FLUSH_TO_DISK", 26: "DEVICE_SHUTDOWN", 27: "DEVICE_STARTUP",
    28: "USER_UNLOCKED", 29: "USER_STOPPED", 30: "LOCUS_ID_SET", 31: "APP_COMPONENT_USED",
}


@dataclass(frozen=True)
class AppUsageEvent(Finding):
    """One usage event of one app (or of the device: package "android")."""

    KIND: ClassVar[str] = "device.app_usage"

    app_id: str | None                     # package name
    event: str | None                      # the event's name, when the code is known
    event_code: int | None                 # as stored
    time: str | None
    source_app: str
    task_root_app: str | None = None
    instance_id: int | None = None
    source_record_id: str | None = None

    def timeline_events(self) -> Sequence[TimelineEvent]:
        if not self.time:
            return ()
        what = self.event or f"event {self.event_code}"
        return (TimelineEvent(self.time, "App Usage", f"{self.source_app}: {self.app_id or '?'} {what}",
                              extra={"source_app": self.source_app, "source_record_id": self.source_record_id}),)


def event_name(code: int | None) -> str | None:
    return None if code is None else EVENT_NAMES.get(code)


EVENTS_WITH_TASK_ROOT = QueryVersion(
    "events+packages with task roots (Wellbeing 2.x)",
    {"events": ("_id", "timestamp", "type", "package_id", "task_root_package_id"),
     "packages": ("_id", "package_name")},
    "SELECT events._id, events.timestamp, events.type, package.package_name, {optional}, "
    "root.package_name AS task_root_package FROM events "
    "LEFT JOIN packages AS package ON package._id = events.package_id "
    "LEFT JOIN packages AS root ON root._id = events.task_root_package_id ORDER BY events._id",
    optional={"events": ("instance_id",)})
EVENTS = QueryVersion(
    "events+packages (Wellbeing 1.x)",
    {"events": ("_id", "timestamp", "type", "package_id"), "packages": ("_id", "package_name")},
    "SELECT events._id, events.timestamp, events.type, package.package_name, {optional}, "
    "NULL AS task_root_package FROM events "
    "LEFT JOIN packages AS package ON package._id = events.package_id ORDER BY events._id",
    optional={"events": ("instance_id",)})


class AndroidWellbeingPlugin(SqliteArtifactPlugin):
    """App usage events from Digital Wellbeing's app_usage database."""

    NAME = "android_wellbeing"
    VERSION = "1.0"
    DESCRIPTION = "Android Digital Wellbeing app usage (com.google.android.apps.wellbeing app_usage: events)"
    PATHS = ("**/com.google.android.apps.wellbeing/databases/app_usage",)
    NAMES = ("app_usage",)     # elsewhere: read only when its tables are Wellbeing's
    QUERIES = (SqlQuery("app usage events", "usage", (EVENTS_WITH_TASK_ROOT, EVENTS)),)

    def usage(self, row, source: RowSource) -> Iterator[AppUsageEvent]:
        code = integer(row["type"])
        yield AppUsageEvent(
            app_id=clean(row["package_name"]), event=event_name(code), event_code=code,
            time=unix_ms_iso(row["timestamp"]), source_app=APP, task_root_app=clean(row["task_root_package"]),
            instance_id=integer(row["instance_id"]), source_record_id=f"events:{row['_id']}")
