"""--since / --until values, shared by every command that filters by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
import pytest

from crawler.timespec import When, parse_since

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text,end,expected",
    [
        ("90m", False, NOW - timedelta(minutes=90)),
        ("24h", False, NOW - timedelta(hours=24)),
        ("7d", False, NOW - timedelta(days=7)),
        ("2w", False, NOW - timedelta(weeks=2)),
        ("1h30m", False, NOW - timedelta(minutes=90)),
        ("2024-05-31", False, datetime(2024, 5, 31, tzinfo=UTC)),
        ("2024-05-31", True, datetime(2024, 6, 1, tzinfo=UTC)),
        ("2024-05-31T18:00", False, datetime(2024, 5, 31, 18, tzinfo=UTC)),
        ("2024-05-31T18:00+01:00", False, datetime(2024, 5, 31, 17, tzinfo=UTC)),
        ("", False, None),
        (None, False, None),
    ],
)
def test_parse_since(text: str | None, end: bool, expected: datetime | None) -> None:
    assert parse_since(text, NOW, end=end) == expected


@pytest.mark.parametrize("text", ["yesterday", "7 days", "2024-13-01", "-3d"])
def test_bad_values_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="expected a date"):
        parse_since(text, NOW)


def test_click_type_turns_errors_into_usage_errors() -> None:
    with pytest.raises(click.BadParameter):
        When().convert("soon", None, None)
