"""A real headless Chromium (Debian's ``chromium`` package) driven by Python playwright, for the
browser tests and the screenshot script.

Playwright's own browser builds are never downloaded: the system browser is launched through
``executable_path``, with a fresh profile, no network services of its own (no sync, updates,
QUIC or background requests) and no sandbox (tests and CI run as root). Without
``/usr/bin/chromium`` the tests are skipped with the reason, unless ``MARSAD_REQUIRE_SERVICES``
is set (CI), where that is a failure: ``.ci/run`` installs the package.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

CHROMIUM = Path(os.environ.get("MARSAD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
MISSING = f"{CHROMIUM} is not installed (apt-get install chromium); the browser tests need it"


def require_chromium() -> None:
    """Skip the calling test (fail it under MARSAD_REQUIRE_SERVICES) without the browser."""
    import pytest

    if CHROMIUM.exists():
        return
    if os.environ.get("MARSAD_REQUIRE_SERVICES", "") not in ("", "0"):
        pytest.fail(MISSING)
    pytest.skip(MISSING)


@contextmanager
def chromium(
    locale: str = "en-US", width: int = 1280, height: int = 900
) -> Iterator[BrowserContext]:
    """The system Chromium, headless, in a profile of its own (removed afterwards): a browser
    context to open pages in."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise FileNotFoundError(MISSING)
    with (
        tempfile.TemporaryDirectory(prefix="marsad-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        # a persistent context is how playwright gives Chromium a user-data-dir of its own
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(CHROMIUM_ARGS),
            locale=locale,
            viewport={"width": width, "height": height},
        )
        try:
            yield context
        finally:
            context.close()
