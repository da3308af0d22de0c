"""When Meta retires the Graph API version we call, and whether to warn about it now.

Meta keeps each Graph API version for at least two years; in practice a
version is retired two years after the next one is released. The tables are
Meta's changelog (developers.facebook.com/docs/graph-api/changelog/versions):
the retirement dates it announces, else the next release's date plus two
years, else the version's own plus two years (the least Meta promises). A
version not in the tables warns that its date is unknown, unless
FACEBOOK_GRAPH_VERSION_RETIRES gives it.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

RELEASED = {
    "v18.0": date(2023, 9, 12),
    "v19.0": date(2024, 1, 23),
    "v20.0": date(2024, 5, 21),
    "v21.0": date(2024, 10, 2),
    "v22.0": date(2025, 1, 21),
    "v23.0": date(2025, 5, 29),
    "v24.0": date(2025, 10, 8),
    "v25.0": date(2026, 2, 18),
    "v26.0": date(2026, 7, 29),
}
# The retirement dates Meta's changelog announces ("Available until").
RETIRES = {
    "v18.0": date(2026, 1, 26),
    "v19.0": date(2026, 5, 21),
    "v20.0": date(2026, 9, 24),
    "v21.0": date(2027, 1, 21),
    "v22.0": date(2027, 5, 20),
    "v23.0": date(2027, 10, 8),
    "v24.0": date(2028, 2, 18),
    "v25.0": date(2028, 7, 29),
}
LIFETIME_YEARS = 2
WARN_BEFORE = timedelta(days=183)  # six months


@dataclass(frozen=True)
class VersionNotice:
    version: str
    retires: date | None
    warn: bool
    words: str


def retirement(version: str) -> date | None:
    if settings.FACEBOOK_GRAPH_VERSION_RETIRES:
        return date.fromisoformat(settings.FACEBOOK_GRAPH_VERSION_RETIRES)
    if version in RETIRES:
        return RETIRES[version]
    released = RELEASED.get(version)
    if released is None:
        return None
    later = sorted(day for day in RELEASED.values() if day > released)
    counted_from = later[0] if later else released
    return counted_from.replace(year=counted_from.year + LIFETIME_YEARS)


def version_notice(*, today: date | None = None) -> VersionNotice:
    """What admin says about FACEBOOK_GRAPH_VERSION today."""
    today = today or timezone.localdate()
    version = settings.FACEBOOK_GRAPH_VERSION
    retires = retirement(version)
    if retires is None:
        return VersionNotice(
            version,
            None,
            True,
            f"Graph API {version}: its retirement date is unknown here; set "
            f"FACEBOOK_GRAPH_VERSION_RETIRES from Meta's changelog.",
        )
    if today >= retires:
        return VersionNotice(
            version,
            retires,
            True,
            f"Graph API {version} was retired by Meta on {retires:%Y-%m-%d}: "
            f"set FACEBOOK_GRAPH_VERSION to a current version.",
        )
    if retires - today <= WARN_BEFORE:
        return VersionNotice(
            version,
            retires,
            True,
            f"Graph API {version} will be retired by Meta on {retires:%Y-%m-%d}: "
            f"move FACEBOOK_GRAPH_VERSION to a newer version before then.",
        )
    return VersionNotice(
        version, retires, False, f"Graph API {version}, supported until {retires:%Y-%m-%d}."
    )
