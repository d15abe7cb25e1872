"""The one clock every record uses: UTC, ISO 8601."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["utc_now"]


def utc_now() -> str:
    """Now, in UTC, as ISO 8601 with the offset (`2026-12-07T02:36:16.123456+00:00`)."""
    return datetime.now(timezone.utc).isoformat()
