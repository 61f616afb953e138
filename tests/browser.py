"""Open an HTML file in headless Chromium and report what the page did, for tests/test_browser.py.

Approach: no driver (no selenium, playwright or DevTools websocket). Chromium runs once
per page with `--headless --dump-dom`, which prints the DOM after the page loaded and its
scripts ran. The page is a temporary copy of the report with two small scripts added:

- a *hook*, inserted first in <head>, before anything of the report runs: it records
  uncaught exceptions and failed resource loads (window "error", capture phase), unhandled
  promise rejections, console.error/console.warn calls and alert/confirm/prompt dialogs;
- a *probe*, appended at the end of <body>, after the report's own script: on "load" it
  opens every <details>, measures every table, row and top-level <svg> with
  getBoundingClientRect (and, for each chart, every <text> that reaches outside it: cut
  off), notes how wide the page is against the window, clicks every header of every
  sortable table (twice: ascending, descending) and records the order of the rows, then
  writes all of it as JSON into <pre id="browser-test-probe">.

Independently of the hook, `--enable-logging=stderr` makes Chromium print every console
message of the page, uncaught exceptions included, as a `CONSOLE` line on stderr; those
lines are collected too. The report itself logs nothing, so any such line is a problem.

Chromium is started in a new session with a fresh profile and HOME under a temporary
directory, bounded by a timeout; afterwards its process group is killed, and the crash
handlers that leave the group (chrome_crashpad_handler calls setsid) are found by the
temporary path in their command line and waited for or killed, by pid.
"""

import html.parser
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

TIMEOUT_S = 60
PROBE_ID = "browser-test-probe"
SVG_NS = "http://www.w3.org/2000/svg"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         # this machine's network is closed: without these Chromium's own connections fail
         "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-default-browser-check",
         "--virtual-time-budget=5000",
         "--enable-logging=stderr", "--v=0"]

HOOK = """<script>/* browser test hook */(() => {
  const problems = window.__browserTestProblems = [];
  addEventListener("error", (event) => {
    const target = event.target;
    if (target && target !== window && target.tagName) {
      const url = target.src || target.href || "";
      problems.push(`failed to load <${target.tagName.toLowerCase()}> ${url}`);
    } else {
      problems.push(`error event: ${event.message} (${event.filename}:${event.lineno})`);
    }
  }, true);
  addEventListener("unhandledrejection",
                   (event) => problems.push(`unhandled rejection: ${event.reason}`));
  for (const level of ["error", "warn"]) {
    const original = console[level].bind(console);
    console[level] = (...args) => {
      problems.push(`console.${level}: ${args.join(" ")}`);
      original(...args);
    };
  }
  for (const name of ["alert", "confirm", "prompt"]) {
    window[name] = (message) => { problems.push(`${name}(${message}) was called`); return null; };
  }
})();</script>
"""

PROBE = """<script>/* browser test probe */
addEventListener("load", () => {
  const size = (element) => {
    const box = element.getBoundingClientRect();
    return {width: box.width, height: box.height};
  };
  const probe = () => {
    document.querySelectorAll("details").forEach((details) => { details.open = true; });
    const viewport = document.documentElement.clientWidth;
    const page = {viewport, scrollWidth: document.documentElement.scrollWidth};
    const tables = Array.from(document.querySelectorAll("table"), (table) => ({
      ...size(table),
      right: table.getBoundingClientRect().right,
      verdict: table.classList.contains("verdict"),
      sortable: table.classList.contains("sortable"),
      rows: Array.from(table.rows, (row) => ({
        section: row.parentNode.tagName.toLowerCase(), cells: row.cells.length, ...size(row)})),
    }));
    const svgs = Array.from(document.querySelectorAll("svg"))
      .filter((svg) => !svg.parentNode.closest("svg"))
      .map((svg) => {
        const style = getComputedStyle(svg), content = svg.getBBox();
        const box = svg.getBoundingClientRect();
        // text drawn past the chart's own edge is cut off where the SVG clips it
        const cut = Array.from(svg.querySelectorAll("text"), (text) => {
          const r = text.getBoundingClientRect();
          return (r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1
                                  || r.top < box.top - 1 || r.bottom > box.bottom + 1))
            ? text.textContent : null;
        }).filter((text) => text !== null);
        return {...size(svg), right: box.right, cut, namespace: svg.namespaceURI,
                isSvgElement: svg instanceof SVGSVGElement,
                elements: svg.querySelectorAll("*").length, display: style.display,
                visibility: style.visibility,
                content: {width: content.width, height: content.height}};
      });
    const sorts = [];
    document.querySelectorAll("table.sortable").forEach((table, tableIndex) => {
      const body = table.tBodies[0];
      const original = new Map(Array.from(body.rows, (row, index) => [row, index]));
      const order = (column) => Array.from(body.rows, (row) => ({
        row: original.get(row), key: row.cells[column].dataset.sort ?? null}));
      Array.from(table.tHead.rows[0].cells).forEach((header, column) => {
        const before = order(column), clicks = [];
        for (let n = 0; n < 2; n++) {
          // click where a user would: the element on top at the header's centre
          header.scrollIntoView({block: "center"});
          const box = header.getBoundingClientRect();
          const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
          (hit || header).dispatchEvent(
            new MouseEvent("click", {bubbles: true, cancelable: true, view: window}));
          clicks.push({hitIsHeader: !!hit && (hit === header || header.contains(hit)),
                       dir: header.dataset.dir ?? null, order: order(column)});
        }
        sorts.push({table: tableIndex, column, header: header.textContent, before, clicks});
      });
    });
    return {page, tables, svgs, sorts};
  };
  let result;
  try {
    result = probe();
  } catch (error) {
    result = {probeError: String(error && error.stack || error)};
  }
  // unhandledrejection and timer errors come after "load": collect a little later
  // (virtual time: --virtual-time-budget lets the page idle through this at once)
  setTimeout(() => {
    result.problems = window.__browserTestProblems ?? ["the hook script did not run"];
    const out = document.createElement("pre");
    out.id = "%s";
    out.textContent = JSON.stringify(result);
    document.body.append(out);
  }, 500);
});
</script>
""" % PROBE_ID

CONSOLE_LINE = re.compile(r":CONSOLE[(:]\d*\)?\]\s*(.*)")


def chromium() -> str:
    """The chromium executable; a missing browser fails the test instead of skipping it."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed; the browser test needs Debian's package: "
                    "apt-get install -y chromium", pytrace=False)
    return path


def instrument(page: str, before_body_end: str = "") -> str:
    """`page` with the hook first in <head> and `before_body_end` plus the probe last in <body>."""
    charset = re.search(r"<meta charset=[^>]*>\n?", page, re.I) or re.search(r"<head>\n?", page)
    if charset is None or page.count("</body>") != 1:
        raise ValueError("the page has no <head> or not exactly one </body>")
    page = page[:charset.end()] + HOOK + page[charset.end():]
    return page.replace("</body>", before_body_end + PROBE + "</body>")


@dataclass
class Source:
    """What the HTML source holds before any script runs."""
    rows_per_table: list[int] = field(default_factory=list)
    svgs: int = 0


class _Counter(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.source, self.open_tables, self.svg_depth = Source(), [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.open_tables.append(len(self.source.rows_per_table))
            self.source.rows_per_table.append(0)
        elif tag == "tr" and self.open_tables:
            self.source.rows_per_table[self.open_tables[-1]] += 1
        elif tag == "svg":
            self.source.svgs += self.svg_depth == 0
            self.svg_depth += 1

    def handle_endtag(self, tag):
        if tag == "table" and self.open_tables:
            self.open_tables.pop()
        elif tag == "svg":
            self.svg_depth -= 1


def count_source(page: str) -> Source:
    counter = _Counter()
    counter.feed(page)
    counter.close()
    return counter.source


@dataclass
class Page:
    probe: dict | None   # the probe's JSON, None if it never wrote it
    problems: list[str]  # from the hook, and one per console line on stderr
    stderr: str


def _own_processes(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if marker in " ".join(process.info["cmdline"] or ()):
            found.append(process)
    return found


def _stop(proc: subprocess.Popen, marker: str) -> tuple[bytes, bytes]:
    """Kill Chromium's process group and the crash handlers that left it; what it printed."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    # chrome_crashpad_handler runs in a session of its own; it exits once the browser is
    # gone, and carries `marker` (its database lives under the temporary HOME)
    deadline = time.monotonic() + 5
    while (left := _own_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in left:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(left, timeout=5)
    try:
        out, err = proc.communicate(timeout=10)  # the rest of the output; closes the pipes
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    if still := _own_processes(marker):
        raise AssertionError(f"chromium processes left behind: {[p.pid for p in still]}")
    return out, err


def open_page(page: str, work: Path, width: int = 1280) -> Page:
    """Write `page` (already instrumented) into `work`, load it in Chromium `width` pixels
    wide, collect results."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "page.html"
    path.write_text(page, encoding="utf-8")
    home, profile = work / "home", work / "profile"
    home.mkdir()
    profile.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}
    argv = [chromium(), *FLAGS, f"--window-size={width},1024", f"--user-data-dir={profile}",
            "--dump-dom", path.as_uri()]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    timed_out = False
    try:
        proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        out, err = _stop(proc, str(work))
    if timed_out:
        pytest.fail(f"chromium did not finish within {TIMEOUT_S} s; its stderr ends:\n"
                    + err.decode("utf-8", "replace")[-3000:], pytrace=False)
    dom, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    problems = []
    for line in stderr.splitlines():
        console = CONSOLE_LINE.search(line)
        if console:
            problems.append(f"console (stderr): {console.group(1)}")
        elif "Uncaught" in line:
            problems.append(f"stderr: {line}")
    probe = None
    found = re.search(rf'<pre id="{PROBE_ID}">(.*?)</pre>', dom, re.S)
    if found:
        probe = json.loads(html.unescape(found.group(1)))
        problems = list(probe.pop("problems")) + problems
    elif proc.returncode != 0:
        problems.append(f"chromium exited with status {proc.returncode}")
    return Page(probe, problems, stderr)
