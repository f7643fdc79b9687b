"""Browser smoke test of the Dagster UI: headless Chromium on eval_report's partitions view.

Drives Debian's `chromium` (`make system-deps` installs it) with Playwright's Python package
(the `dev` extra; its own browser download, `playwright install`, is never used): after the
polecat run in conftest.py succeeded, the asset page must list the six role partitions and show
polecat's latest eval report (losses, adapter version, the run that made it). A screenshot is
saved under the test's tmp dir.

Run: .venv/bin/python -m pytest -q tests/ui -s  (-s prints the screenshot's path)
"""

import json
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROLES = ["crew", "deacon", "mayor", "polecat", "refinery", "witness"]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 90_000


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in ("/usr/bin/chromium", "/usr/lib/chromium/chromium") if Path(p).is_file()), None)


def _value_after(text: str, label: str) -> float | None:
    match = re.search(rf"^{label}\s+(?:.*\n\s*)??(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$", text, re.M)
    return float(match.group(1)) if match else None


@pytest.fixture
def browser_page(tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium binary (Debian's `chromium`; `make system-deps` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def test_eval_report_page_shows_role_partitions_and_the_latest_report(browser_page, dagster_ui, polecat_run, tmp_path):
    assert polecat_run.run.get("status") == "SUCCESS", "the polecat run failed; see test_graphql_launch"
    report = json.loads((dagster_ui.data_dir / "reports/polecat/report.json").read_text())
    page = browser_page
    page.goto(
        f"{dagster_ui.url}/assets/eval_report?view=partitions&partition=polecat",
        wait_until="domcontentloaded",
        timeout=PAGE_TIMEOUT_MS,
    )
    wanted = [*ROLES, "base_val_loss", "adapter_val_loss", report["adapter"]["version"], polecat_run.run_id[:8]]
    screenshot = tmp_path / "eval_report_partitions.png"
    try:  # the SPA fetches everything over GraphQL after the shell loads: wait for the content
        page.wait_for_function(
            "words => words.every(w => document.body.innerText.includes(w))",
            arg=wanted,
            timeout=PAGE_TIMEOUT_MS,
            polling=500,
        )
    finally:
        page.screenshot(path=str(screenshot), full_page=True)
        print(f"\nscreenshot: {screenshot}")
    text = page.inner_text("body")

    lines = {line.strip() for line in text.splitlines()}
    assert set(ROLES) <= lines, f"role partitions missing from the page:\n{text}"
    for key in ("base_val_loss", "adapter_val_loss"):
        shown = _value_after(text, key)
        assert shown == pytest.approx(report[key], abs=1e-4), f"{key}: page shows {shown}, report has {report[key]}"
    assert screenshot.stat().st_size > 10_000
