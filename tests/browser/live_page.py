#!/usr/bin/env python3
"""Drives `berth watch --listen`'s live page in headless Chromium
(Playwright, with Debian's chromium): the page loads with no console error,
shows every expected destination on every server, and, after a container is
detached by hand, shows it attached again (watch heals it) within the time
allowed, without a reload. Optionally takes a screenshot.

Usage: live_page.py SPEC.json, where SPEC is
  {"url": ..., "chromium": "/usr/bin/chromium",
   "cells": [[server, destination], ...],
   "detach": {"command": [...], "server": ..., "destination": ..., "container": ...},
   "within_s": 5, "screenshot": null or a path}
Exits 0 when all holds, 1 (saying what failed) otherwise.
"""

import json
import subprocess
import sys
import time

from playwright.sync_api import sync_playwright


def fail(message, page=None):
    print(f"FAIL: {message}")
    if page is not None:
        try:
            print("page text:\n" + page.inner_text("body"))
        except Exception as e:  # the page itself may be gone
            print(f"(no page text: {e})")
    sys.exit(1)


def wait_until(page, expression, timeout_s):
    """Polls `expression` in the page every 50 ms (page.evaluate: the page's
    Content-Security-Policy forbids the eval that wait_for_function uses)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if page.evaluate(expression):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def cell_selector(server, destination):
    return f'div.cell[data-server="{server}"][data-destination="{destination}"]'


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=spec["chromium"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "console",
            lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
        page.on(
            "requestfailed",
            lambda r: errors.append(f"request failed: {r.url} ({r.failure})")
            if not r.url.endswith("/events")
            else None,
        )
        page.goto(spec["url"], wait_until="load")
        # The script takes over: the first push from /events marks it live.
        if not wait_until(
            page,
            "document.getElementById('live') !== null && document.getElementById('live').textContent === 'live'",
            10,
        ):
            fail("the page never said `live` (no push from /events)", page)
        for server, destination in spec["cells"]:
            if page.locator(cell_selector(server, destination)).count() != 1:
                fail(f"no destination {destination} on server {server}", page)
        print(f"every destination shown: {len(spec['cells'])} cell(s)")

        d = spec["detach"]
        cell = cell_selector(d["server"], d["destination"])
        box = f'{cell} li[data-container="{d["container"]}"]'
        if page.locator(box).count() != 1:
            fail(f"{d['container']} is not shown attached to {d['destination']} on {d['server']}", page)
        heal_rows = (
            "Array.from(document.querySelectorAll('tr[data-event=\"applied\"]'))"
            f".filter(r => r.textContent.includes({json.dumps(d['container'])}) && r.textContent.includes('connect')).length"
        )
        before = page.evaluate(heal_rows)
        # A reload would lose this.
        page.evaluate("window.__berthNoReload = true")
        subprocess.run(d["command"], check=True)
        started = time.monotonic()
        print(f"detached: {' '.join(d['command'])}")
        healed_shown = wait_until(
            page,
            f"""window.__berthNoReload === true
                && {heal_rows} > {before}
                && document.querySelector({json.dumps(box)}) !== null""",
            spec.get("within_s", 5),
        )
        if not healed_shown:
            fail(
                f"the page did not show {d['container']} attached again within {spec.get('within_s', 5)} s",
                page,
            )
        healed = time.monotonic() - started
        print(f"shown attached again {healed:.2f} s after the detach, without a reload")
        if spec.get("screenshot"):
            page.wait_for_timeout(300)
            page.screenshot(path=spec["screenshot"], full_page=True)
            print(f"screenshot: {spec['screenshot']}")
        browser.close()
    if errors:
        print("FAIL: console errors:\n" + "\n".join(errors))
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
