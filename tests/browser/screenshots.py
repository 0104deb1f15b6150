"""Pictures of each page as the Chromium tests leave it, for a reviewer to look at: at
1280 by 800, the whole page, into `test-screenshots/` (or `IMB_TEST_SCREENSHOTS`)."""

import os
from pathlib import Path

from playwright.sync_api import Page, ViewportSize

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
_REPO = Path(__file__).resolve().parents[2]


def screenshot_folder() -> Path:
    return Path(os.environ.get("IMB_TEST_SCREENSHOTS") or _REPO / "test-screenshots")


def screenshot(page: Page, name: str) -> Path:
    folder = screenshot_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
