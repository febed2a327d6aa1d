#!/usr/bin/env python3
"""akt-sim view in a real browser: pages load in headless Chromium with no
console message and no script error, and show the lanes and arrows the
trace holds (counted in the DOM after the viewer ran); screenshots are
written to OUTDIR for people to look at.

usage: view_check.py AKT-SIM SCENARIO-DIR DATA-DIR OUTDIR

Chromium is Debian's `chromium` package (./dev test installs it).
"""
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = 180  # seconds: only bounds a hang; a loaded machine is slow


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Dom(html.parser.HTMLParser):
    """Counts the chart's elements by class: those in the lane headers and
    the SVG, not the legend's samples (nor the viewer's source and data in
    <script>, which mention the class names too)."""

    def __init__(self):
        super().__init__()
        self.counts = {}
        self.body = {}
        self.skip = 0  # inside <script> or <aside>
        self.error = None
        self._error_text = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "aside"):
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "body":
            self.body = a
        if a.get("id") == "js-error":
            self._error_text = ""
        for c in (a.get("class") or "").split():
            self.counts[c] = self.counts.get(c, 0) + 1

    def handle_endtag(self, tag):
        if tag in ("script", "aside"):
            self.skip -= 1
        if tag == "pre" and self._error_text is not None:
            self.error, self._error_text = self._error_text, None

    def handle_data(self, data):
        if self._error_text is not None:
            self._error_text += data


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    fail("no chromium: install Debian's chromium package (./dev test does)")


def browse(page, extra, profile):
    """Runs headless Chromium on page; returns (stdout, console lines)."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--hide-scrollbars", "--user-data-dir=" + profile, "--enable-logging=stderr",
           "--v=0", "--window-size=1400,860"] + extra + [page]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    err = p.stderr.decode("utf-8", "replace")
    console = [l for l in err.splitlines() if ":CONSOLE" in l]
    if p.returncode != 0:
        fail("chromium exited %d:\n%s" % (p.returncode, err[-3000:]))
    return p.stdout.decode("utf-8", "replace"), console


def check_page(page, fragment, lanes, arrows, profile, shot=None):
    """Loads page#fragment; checks it and returns the parsed DOM."""
    url = "file://" + os.path.abspath(page) + ("#" + fragment if fragment else "")
    out, console = browse(url, ["--dump-dom"], profile)
    if console:
        fail("%s: console messages:\n%s" % (url, "\n".join(console)))
    dom = Dom()
    dom.feed(out)
    if dom.error or dom.body.get("data-state") != "ready":
        fail("%s: the viewer did not finish (state %s): %s" %
             (url, dom.body.get("data-state"), dom.error))
    got_lanes = dom.counts.get("lane-head", 0)
    got_arrows = dom.counts.get("arrow", 0)
    if lanes is not None and got_lanes != lanes:
        fail("%s: %d lanes in the DOM, expected %d" % (url, got_lanes, lanes))
    if arrows is not None and got_arrows != arrows:
        fail("%s: %d arrows in the DOM, expected %d" % (url, got_arrows, arrows))
    if shot:
        browse(url, ["--screenshot=" + shot], profile)
        if not os.path.getsize(shot):
            fail("empty screenshot " + shot)
    print("%s: %d lanes, %d arrows, loaded in %s ms%s" %
          (url, got_lanes, got_arrows, dom.body.get("data-load-ms"),
           ", screenshot " + shot if shot else ""))
    return dom


def run(cmd, want, cwd=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT,
                       cwd=cwd)
    if p.returncode != want:
        fail("%s exited %d, expected %d:\n%s" %
             (" ".join(cmd), p.returncode, want, p.stdout.decode(errors="replace")))
    return p.stdout.decode(errors="replace")


def main():
    sim, scenarios, data, outdir = sys.argv[1:5]
    os.makedirs(outdir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        profile = os.path.join(tmp, "profile")
        # A small hand-made trace with known contents (tests/sim/data).
        page = os.path.join(tmp, "small.html")
        out = run([sim, "view", os.path.join(data, "view-small.trace"), "-o", page], 0)
        if "3 lanes, 10 messages, 2 faults" not in out:
            fail("view's summary: " + out)
        # Node lanes, the default layers: 2 messages, 5 datagrams and one
        # message not arrived (the local message and the frame are hidden).
        dom = check_page(page, "", 3, 8, profile, os.path.join(outdir, "view-small.png"))
        for cls, n in (("band", 2), ("member", 1), ("violation", 1), ("drop", 1),
                       ("dup", 1), ("reorder", 1), ("pending", 1), ("xmark", 1)):
            if dom.counts.get(cls, 0) != n:
                fail("%d elements of class %s, expected %d" % (dom.counts.get(cls, 0), cls, n))
        # node0 as actors (its own lane and /user/client): the local message
        # shows; with stream frames on, the frame too.
        check_page(page, "expand=node0&show=message,datagram,frame,events", 4, 10, profile)
        # A zoomed window holds only what happens in it.
        check_page(page, "from=0.0205&to=0.0265", 3, 5, profile)

        # A real failing run: the deliberately buggy counter, seed 6, around
        # the clog that makes it count a retried increment twice
        # (docs/scenarios.md shows this screenshot).
        page = os.path.abspath(os.path.join(outdir, "buggy-counter-6.html"))
        out = run([os.path.abspath(sim), "run", os.path.join("scenarios", "buggy-counter.scn"),
                   "--seed", "6", "--html", page], 1, cwd=os.path.dirname(os.path.abspath(scenarios)))
        if "check=count-exact" not in out:
            fail("buggy-counter seed 6 did not fail count-exact:\n" + out)
        dom = check_page(page, "from=1.55&to=3.05", 2, None, profile,
                         os.path.join(outdir, "view-buggy-counter.png"))
        if dom.counts.get("violation", 0) != 1 or dom.counts.get("band", 0) < 1:
            fail("the buggy-counter chart misses its failed check or its clog")
    print("akt-sim view in chromium: ok")


if __name__ == "__main__":
    main()
