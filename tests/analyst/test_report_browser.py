"""The report in a real browser: headless Chromium (Debian's package) renders it offline with
every chart present and drawn, and the page logs nothing to the console.

Skipped when /usr/bin/chromium is missing, unless CI=true (then it fails)."""

from __future__ import annotations

import re

import pytest

from resources.analyst.report import report_path, write_report
from resources.analyst.report.html import BLUE
from tests.analyst import chromium
from tests.analyst.chromium import count_color, render, require_chromium, screenshot
from tests.analyst.marts import build_marts

pytestmark = pytest.mark.browser


@pytest.fixture
def report_file(sieve_org):
    require_chromium()
    org = sieve_org("acme")
    build_marts(org)
    return write_report(org.sieve, org.org, report_path(org.sieve.settings.orgs_dir,
                                                        org.org.id)).path


def test_the_report_renders_with_its_charts_and_no_console_messages(report_file):
    rendering = render(report_file)
    assert rendering.console == []
    charts = re.findall(r'<svg class="chart"[^>]*role="img"', rendering.dom)
    assert len(charts) == 13
    for section in ("needs-attention", "dora", "cycle-time", "throughput", "issue-flow",
                    "sprints", "review-load", "forecasts"):
        assert f'<section id="{section}">' in rendering.dom


def test_the_charts_are_drawn_on_screen(report_file, tmp_path):
    shot = screenshot(report_file, tmp_path / "report.png", width=1000, height=1300)
    blue = tuple(int(BLUE[i:i + 2], 16) for i in (1, 3, 5))
    # The first DORA charts' lines and points, in the series colour, are visible.
    assert count_color(shot, blue) > 500


def test_console_messages_are_caught(tmp_path):
    """The check above can fail: a page loading an outside image is refused by its policy,
    and Chromium's log shows it."""
    require_chromium()
    page = tmp_path / "control.html"
    page.write_text("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" "
                    "content=\"default-src 'none'\"></head><body><img alt='' "
                    "src='https://sieve-test.invalid/pixel.png'></body></html>")
    assert any("sieve-test.invalid" in line for line in render(page).console)


def test_without_chromium_the_tests_skip_but_fail_under_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(chromium, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true requires headless Chromium"):
        require_chromium()
