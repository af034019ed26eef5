"""Times are stored in UTC; people read them in the pharmacy's own time zone.

The zone is PHARMACY_TIMEZONE (e.g. "America/Chicago"); without it, the server's local zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, has_app_context


def zone() -> tzinfo:
    if not has_app_context():
        return _zone(None)
    # Once per request (or app context): a page lists up to a hundred timestamps.
    tz = g.get("_local_zone")
    if tz is None:
        tz = g._local_zone = _zone(current_app.config.get("TIMEZONE"))
    return tz


def _zone(name: str | None) -> tzinfo:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return datetime.now().astimezone().tzinfo or UTC


def local(value: datetime) -> datetime:
    """A stored timestamp (aware, or naive UTC as SQLite returns it) in the local zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone())


def local_text(value, tz: tzinfo | None = None) -> str:
    """What the `dt` filter prints: a timestamp in the local zone to the minute, a date as
    YYYY-MM-DD, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        # isoformat to the minute, less its offset: the same text as strftime("%Y-%m-%d
        # %H:%M") in half the time (the queue board prints some 60 of these per view).
        return value.astimezone(tz or zone()).isoformat(" ", "minutes")[:16]
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def local_day(value: datetime) -> date:
    return local(value).date()


def day_start_utc(day: date) -> datetime:
    """Midnight at the start of a local day, as a UTC timestamp for queries."""
    return datetime(day.year, day.month, day.day, tzinfo=zone()).astimezone(UTC)
