"""The review page in a real browser: headless Chromium driven by Selenium.

The page of ``tokenclean report`` is opened from disk; the test filters by a tag change,
accepts two suggestions, rejects one, types another tag, exports the decisions (through the
button, as a download, and through ``window.tokencleanExport``), runs ``tokenclean apply``
and checks the corrected file. It checks that the page makes no network request, that the
decisions survive a reload, and prints how long the page takes with 100,000 issues
(``pytest -s`` shows the figures; nothing is asserted about time).

Chromium and chromedriver come from the system packages (``apt-get install chromium
chromium-driver``). When they are missing the tests fail if ``CI`` is set (``.ci/run``
installs them), and are skipped with the reason otherwise.
``TOKENCLEAN_SCREENSHOT=docs/review.png`` also saves the README's screenshot.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_review import run, sample  # noqa: F401 (a fixture)
from tokenclean.io import read_corpus

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason}; CI must run the browser tests (apt-get install chromium chromium-driver)"
        )
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            _unavailable(f"{path} is missing")
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1100,1400",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def press(driver: Any, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(keys).perform()


def network_requests(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_review_loop_in_chromium(
    browser: Any,
    sample: tuple[Path, Path],  # noqa: F811 (the fixture imported from test_review)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    data, issues_path = sample
    page = tmp_path / "review.html"
    keep = os.environ.get("TOKENCLEAN_SCREENSHOT")
    keep = os.path.abspath(keep) if keep else None
    monkeypatch.chdir(tmp_path)  # the page shows DATA as given: a relative path
    assert run("report", data.name, "--issues", issues_path.name, "-o", page.name) == 0
    driver = browser
    driver.get(page.as_uri())
    driver.execute_script("localStorage.clear()")
    driver.refresh()
    driver.get_log("performance")  # start the network log from this load
    driver.refresh()

    csp = driver.find_element(By.CSS_SELECTOR, 'meta[http-equiv="Content-Security-Policy"]')
    assert csp.get_attribute("content") == (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
    )
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]

    # Accessibility basics: every control is a real button or a labelled field; no tab traps.
    unlabelled = driver.execute_script(
        """return Array.from(document.querySelectorAll('input, select')).filter(function (e) {
             return !(e.labels && e.labels.length) && !e.getAttribute('aria-label'); }).length"""
    )
    assert unlabelled == 0
    assert (
        driver.execute_script(
            "return document.querySelectorAll('[tabindex]:not([tabindex=\"-1\"])').length"
        )
        == 0
    )

    records = [json.loads(line) for line in issues_path.read_text().splitlines()]
    pair = [r for r in records if (r["given"], r["suggested"]) == ("I-location", "O")]
    pair.sort(key=lambda r: r["score"])  # the page's default order; ties keep file order
    assert len(pair) >= 4

    driver.find_element(By.CSS_SELECTOR, '#pairs button[data-value="I-location → O"]').click()
    status = driver.find_element(By.ID, "status").text
    assert f"of {len(pair)} (" in status, status
    assert driver.find_element(By.ID, "f-pair").get_attribute("value") == "I-location → O"
    shown = driver.find_elements(By.CSS_SELECTOR, "#issues .issue .tag")
    assert {e.text for e in shown} == {"I-location", "O"}

    press(driver, "a")  # accept issue 1, move to 2
    press(driver, "a")  # accept issue 2
    press(driver, "r")  # reject issue 3
    press(driver, "t")  # type another tag for issue 4
    active = driver.switch_to.active_element
    assert "other" in active.get_attribute("class")
    active.send_keys("B-location", Keys.ENTER)
    decisions = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#issues .decision")][:4]
    assert decisions == [
        "✓ Accepted: O",
        "✓ Accepted: O",
        "✗ Rejected: keep I-location",
        "✎ Other tag: B-location",
    ]

    driver.find_element(By.ID, "export").click()
    target = driver.downloads / "corrections.json"
    for _ in range(100):
        if target.exists() and target.stat().st_size:
            break
        time.sleep(0.05)
    exported = json.loads(driver.execute_script("return window.tokencleanExport()"))
    assert json.loads(target.read_text(encoding="utf-8")) == exported
    wanted = [(pair[0], "O"), (pair[1], "O"), (pair[3], "B-location")]
    got = sorted((c["sentence"], c["word"], c["old_tag"], c["new_tag"]) for c in exported)
    assert got == sorted((r["sentence"], r["word"], "I-location", new) for r, new in wanted)
    assert all(c["file"] == "wnut17.conll" and "when" in c for c in exported)

    # Decisions survive a reload.
    driver.refresh()
    assert driver.find_element(By.ID, "decided").text.startswith("4 decisions")

    # No request left the page: only the page itself (file://) and the download (blob:).
    urls = network_requests(driver)
    assert urls and all(u.startswith(("file://", "blob:", "data:")) for u in urls), urls

    screenshot = tmp_path / "review.png"
    driver.find_element(By.CSS_SELECTOR, '#pairs button[data-value="I-location → O"]').click()
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if keep:
        try:  # a palette PNG is a third of the size
            from PIL import Image

            Image.open(screenshot).quantize(colors=64).save(keep, optimize=True)
        except ImportError:
            shutil.copyfile(screenshot, keep)

    # tokenclean apply with the exported file.
    fixed = tmp_path / "fixed.conll"
    assert run("apply", data, "--corrections", target, "-o", fixed) == 0
    before = data.read_bytes().split(b"\n")
    after = fixed.read_bytes().split(b"\n")
    assert len(before) == len(after)
    changed = {i + 1: (a, b) for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b}
    corrected = {c["line"]: c for c in exported}
    for line, c in corrected.items():
        word, tag = changed[line][1].decode().split("\t")
        assert (word, tag) == (c["word"], c["new_tag"])
    for line in set(changed) - set(corrected):  # only IOB2 repairs right after a correction
        old, new = (x.decode().split("\t") for x in changed[line])
        assert line - 1 in corrected and old[1].startswith("I-") and new[1] == "B-" + old[1][2:]
    tags = read_corpus(str(fixed)).tags
    assert "B-location" in tags


def test_responsive_at_100k_issues(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    rng = random.Random(0)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    words = ["alpha", "beta", "gamma", "delta", "Paris", "Anna", "ACME", "runs", "to", "the"]
    sentences, length = 50_000, 8
    data = tmp_path / "big.conll"
    lines, given = [], []
    for _ in range(sentences):
        row = [rng.choice(tags) for _ in range(length)]
        given.append(row)
        lines += [f"{rng.choice(words)}\t{t}" for t in row] + [""]
    data.write_text("\n".join(lines) + "\n")
    issues = tmp_path / "issues.jsonl"
    with open(issues, "w") as fh:
        for n in range(100_000):
            s, t = n // 2, (n % 2) * 3
            suggested = rng.choice([x for x in tags if x != given[s][t]])
            fh.write(
                json.dumps(
                    {
                        "sentence": s,
                        "token": t,
                        "given": given[s][t],
                        "suggested": suggested,
                        "score": rng.random(),
                    }
                )
                + "\n"
            )
    page = tmp_path / "big.html"
    t0 = time.perf_counter()
    assert run("report", data, "--issues", issues, "-o", page) == 0
    build = time.perf_counter() - t0

    t0 = time.perf_counter()
    browser.get(page.as_uri())
    load = time.perf_counter() - t0
    timings = browser.execute_script("return window.tokencleanTimings")
    assert browser.find_element(By.ID, "status").text.endswith("of 100000 (100000 in all).")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#issues .issue")) == 50  # one page only
    measure = """
        var t = performance.now(); var el = document.getElementById(arguments[0]);
        el.value = arguments[1]; el.dispatchEvent(new Event(arguments[2]));
        return performance.now() - t;"""
    pair_ms = browser.execute_script(measure, "f-pair", "B-PER → O", "change")
    count = int(browser.find_element(By.ID, "status").text.split(" of ")[1].split(" ")[0])
    assert 0 < count < 100_000
    sort_ms = browser.execute_script(measure, "sort", "-score", "change")
    clear_ms = browser.execute_script(measure, "f-pair", "", "change")
    next_ms = browser.execute_script(
        "var t = performance.now(); document.getElementById('next-page').click();"
        " return performance.now() - t;"
    )
    size = page.stat().st_size / 1e6
    print(
        f"\nreview page, 100,000 issues in 50,000 sentences ({size:.1f} MB): "
        f"report built in {build:.2f} s; browser load {load:.2f} s (JSON parse "
        f"and index {timings['parse']:.0f} ms, first render {timings['firstRender']:.0f} ms); "
        f"filter by a pair {pair_ms:.0f} ms ({count} issues), sort {sort_ms:.0f} ms, "
        f"clear filter {clear_ms:.0f} ms, next page {next_ms:.0f} ms"
    )


def test_span_and_jsonl_issues_in_chromium(browser: Any, tmp_path: Path) -> None:
    """Span issues become one correction per token; JSON Lines corrections carry the token."""
    from selenium.webdriver.common.by import By

    data = tmp_path / "data.jsonl"
    data.write_text(
        '{"tokens": ["Anna", "Smith", "visited", "New", "York"], '
        '"tags": ["B-PER", "I-PER", "O", "B-ORG", "I-ORG"]}\n'
        '{"tokens": ["Hello", "</script>"], "tags": ["O", "O"]}\n',
        encoding="utf-8",
    )
    issues = tmp_path / "issues.jsonl"
    issues.write_text(
        json.dumps(
            {
                "kind": "span",
                "sentence": 0,
                "start": 3,
                "end": 5,
                "given": "ORG",
                "suggested": "LOC",
                "score": 0.01,
                "file": str(data),
                "line": 1,
            }
        )
        + "\n"
        + json.dumps({"sentence": 1, "token": 1, "given": "O", "suggested": "B-PER", "score": 0.02})
        + "\n",
        encoding="utf-8",
    )
    page = tmp_path / "review.html"
    assert run("report", data, "--issues", issues, "-o", page) == 0
    browser.get(page.as_uri())
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    marks = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#issues mark")]
    assert marks == ["[[New York]]", "[[</script>]]"]
    press(browser, "c")  # the neighbouring sentences of the current issue
    context = browser.find_element(By.CSS_SELECTOR, ".issue.current .context").text
    assert "No sentence before." in context
    assert "After (" in context and "data.jsonl:2): Hello </script>" in context
    toggle = browser.find_element(By.CSS_SELECTOR, '.issue.current button[data-act="context"]')
    assert toggle.get_attribute("aria-expanded") == "true"
    press(browser, "c")
    assert not browser.find_elements(By.CSS_SELECTOR, ".issue.current .context")
    press(browser, "a")
    press(browser, "a")
    exported = json.loads(browser.execute_script("return window.tokencleanExport()"))
    assert [(c["line"], c["token"], c["old_tag"], c["new_tag"]) for c in exported] == [
        (1, 3, "B-ORG", "B-LOC"),
        (1, 4, "I-ORG", "I-LOC"),
        (2, 1, "O", "B-PER"),
    ]
    corrections = tmp_path / "corrections.json"
    corrections.write_text(json.dumps(exported), encoding="utf-8")
    fixed = tmp_path / "fixed.jsonl"
    assert (
        run("apply", data, "--corrections", corrections, "-o", fixed, "--classes", "B-LOC,I-LOC")
        == 0
    )
    assert fixed.read_text(encoding="utf-8") == data.read_text(encoding="utf-8").replace(
        '"B-ORG", "I-ORG"', '"B-LOC", "I-LOC"'
    ).replace('"tags": ["O", "O"]', '"tags": ["O", "B-PER"]')
