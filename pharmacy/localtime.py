"""Times are stored in UTC; people read them in the pharmacy's own time zone.

The zone is PHARMACY_TIMEZONE (e.g. "America/Chicago"); without it, the server's local zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context


def zone() -> tzinfo:
    name = current_app.config.get("TIMEZONE") if has_app_context() else None
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


def local_day(value: datetime) -> date:
    return local(value).date()


def day_start_utc(day: date) -> datetime:
    """Midnight at the start of a local day, as a UTC timestamp for queries."""
    return datetime(day.year, day.month, day.day, tzinfo=zone()).astimezone(UTC)
