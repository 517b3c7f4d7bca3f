"""A headless Chromium for the conversion's oracle: does a card render the same?

Chromium (Debian's `chromium`; `make browser` installs it, or set ANKIOPS_CHROMIUM)
runs headless and is driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: JSON messages ending in NUL on file descriptors 3 and 4),
so no driver or Python package is needed. `Browser.screenshots(cards)` renders many
cards in one page, each card its own document in an iframe (as Anki shows a card: the
note type's CSS, `<body class="card">`), and returns one PNG per card, clipped to
it: equal PNG bytes are equal pixels (one encoder, one machine).

Where no Chromium is found the browser tests skip and say why; with
ANKIOPS_REQUIRE_BROWSER=1 (CI) they fail instead. Nothing leaves the machine: every
request but file: and data: is blocked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

REQUIRE_ENV = "ANKIOPS_REQUIRE_BROWSER"
WIDTH = 600  # the card's width in CSS pixels (a narrow Anki window)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
    "--font-render-hinting=none",
    "--remote-debugging-pipe",
]

# What Anki's reviewer puts around every card (its webview's own CSS, in short).
_BASE_CSS = (
    ".card { display: flow-root; padding: 20px; overflow-wrap: break-word; }"
    " img { max-width: 100%; }"
)


def binary() -> str | None:
    """The Chromium to run, or None."""
    named = os.environ.get("ANKIOPS_CHROMIUM")
    if named:
        return named if os.access(named, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    if binary() is None:
        return (
            "browser oracle skipped: no Chromium (run `make browser`, which installs "
            "Debian's chromium as root, or set ANKIOPS_CHROMIUM)"
        )
    return None


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def card_body(body: str, css: str) -> str:
    """A card as Anki's reviewer shows it: the note type's CSS, the card in an element
    of class "card" (Anki's <body>), the rendered template in `#qa`."""
    return (
        f"<style>{_BASE_CSS}</style><style>{css}</style>"
        f'<div class="card card1"><div id="qa">{body}</div></div>'
    )


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium, one page; close() (or `with`) stops it."""

    def __init__(self) -> None:
        chromium = binary()
        if chromium is None:
            raise BrowserError(unavailable())
        self.folder = Path(tempfile.mkdtemp(prefix="ankiops-browser-"))
        to_child, from_us = os.pipe()
        to_us, from_child = os.pipe()
        # the child reads on 3 and writes on 4: put them out of the way, then there
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child, from_child)]

        def child_fds() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.process = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={self.folder / 'profile'}", "about:blank"],
            pass_fds=(3, 4, *high),  # (kept open through the exec: set up by child_fds)
            preexec_fn=child_fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "chromium.log").open("wb"),
        )
        for fd in (to_child, from_child, *high):
            os.close(fd)
        self.writer = os.fdopen(from_us, "wb", buffering=0)
        self.reader = os.fdopen(to_us, "rb", buffering=0)
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable", session=True)
        self.call("Network.enable", session=True)
        self.call("Network.setBlockedURLs", session=True, urls=["http*", "ws*", "ftp*", "chrome*"])
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=WIDTH + 40,
            height=800,
            deviceScaleFactor=1,
            mobile=False,
        )

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.writer, self.reader):
            stream.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- the protocol ----------------------------------------------------------------

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            chunk = self.reader.read(1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed its pipe")
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.writer.write(json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, event: str) -> None:
        while True:
            for index, seen in enumerate(self.events):
                if seen.get("method") == event:
                    del self.events[index]
                    return
            message = self._message()
            if "method" in message:
                self.events.append(message)

    # --- cards ---------------------------------------------------------------------

    def same_renderings(self, pairs: list[tuple[tuple[str, str], tuple[str, str]]]) -> list[bool]:
        """For each pair of cards (body HTML, note type CSS), whether they render to the
        same pixels. The pairs are laid out side by side in one page, screenshot in a few
        tall slices, and each slice's two columns compared pixel by pixel in the page."""
        cards = json.dumps([[card_body(body, css) for body, css in pair] for pair in pairs])
        page = self.folder / "cards.html"
        script = cards.replace("</", "<\\/")  # (no "</script>" inside the script)
        page.write_text(_PAGE.format(width=WIDTH, gap=GAP, cards=script), encoding="utf-8")
        self.events.clear()
        self.call("Page.navigate", session=True, url=page.as_uri())
        self.wait_for("Page.loadEventFired")
        placed = json.loads(self._evaluate("layout()"))  # [top, left height, right height]
        same = [False] * len(pairs)
        for first, last in _slices(placed):
            top = placed[first][0]
            bottom = placed[last][0] + max(placed[last][1:])
            clip = {"x": 0, "y": top, "width": 2 * WIDTH + GAP, "height": bottom - top}
            shot = self.call(
                "Page.captureScreenshot",
                session=True,
                format="png",
                captureBeyondViewport=True,
                clip={**clip, "scale": 1},
            )
            rows_here = [[y - top, left, right] for y, left, right in placed[first : last + 1]]
            verdicts = json.loads(
                self._evaluate(f"compare('{shot['data']}', {json.dumps(rows_here)})")
            )
            same[first : last + 1] = verdicts
        return same

    def _evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise BrowserError(str(result["exceptionDetails"]))
        return result["result"]["value"]


GAP = 20  # between the two columns
SLICE = 6000  # the tallest screenshot taken at once, in pixels (unless one row is taller)


def _slices(placed: list[list[int]]) -> list[tuple[int, int]]:
    """Runs of rows (first, last index) that fit in one screenshot."""
    out: list[tuple[int, int]] = []
    first = 0
    for index, (top, *heights) in enumerate(placed):
        if index > first and top + max(heights) - placed[first][0] > SLICE:
            out.append((first, index - 1))
            first = index
    if placed:
        out.append((first, len(placed) - 1))
    return out


# Each row: two cards side by side, each in its own shadow root (its CSS applies to it
# alone, and its HTML is parsed on its own, so an unclosed tag cannot spill over).
# layout() builds them, waits for images, and says where the rows are; compare()
# decodes a screenshot and compares each row's two columns (a different height is a
# difference).
_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: white; }}
.row {{ display: flex; align-items: flex-start; gap: {gap}px; margin-bottom: 4px; }}
.slot {{ display: block; width: {width}px; flex: none; overflow: hidden; }}
</style><script>
const cards = {cards};
async function layout() {{
  const rows = cards.map(pair => {{
    const row = document.createElement('div');
    row.className = 'row';
    for (const card of pair) {{
      const slot = document.createElement('div');
      slot.className = 'slot';
      slot.attachShadow({{mode: 'open'}}).innerHTML = card;
      row.appendChild(slot);
    }}
    document.body.appendChild(row);
    return row;
  }});
  const images = [];
  for (const slot of document.querySelectorAll('.slot')) {{
    images.push(...slot.shadowRoot.querySelectorAll('img'));
  }}
  await Promise.all(images.map(i => i.complete ? null : new Promise(
    done => {{ i.addEventListener('load', done); i.addEventListener('error', done); }})));
  await document.fonts.ready;
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return JSON.stringify(rows.map(row => {{
    const [a, b] = row.querySelectorAll('.slot');
    return [row.getBoundingClientRect().top + window.scrollY, a.offsetHeight, b.offsetHeight];
  }}));
}}
async function compare(png, rows) {{
  const bytes = Uint8Array.from(atob(png), c => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], {{type: 'image/png'}}));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d', {{willReadFrequently: true}});
  context.drawImage(bitmap, 0, 0);
  return JSON.stringify(rows.map(([top, left, right]) => {{
    if (left !== right) return false;
    if (left === 0) return true;
    const a = context.getImageData(0, top, {width}, left).data;
    const b = context.getImageData({width} + {gap}, top, {width}, left).data;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }}));
}}
</script></head><body></body></html>
"""


# --- cards of a note type ------------------------------------------------------------------

PLACEHOLDER = "Other field"  # every other field of the note, so that the field's edges show
DECK = "Deck"

# Anki's stock Basic note type: for fields whose note type is not known.
STOCK: dict[str, Any] = {
    "fields": ["Front", "Back"],
    "cloze": False,
    "templates": [{"front": "{{Front}}", "back": "{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}"}],
    "css": ".card {\n font-family: arial;\n font-size: 20px;\n text-align: center;\n"
    " color: black;\n background-color: white;\n}\n",
}

_SECTION = re.compile(r"\{\{([#^])\s*([^}]+?)\s*\}\}(.*?)\{\{/\s*\2\s*\}\}", re.DOTALL)
_FIELD = re.compile(r"\{\{\s*([^#^/}][^}]*?)\s*\}\}")
# A cloze deletion holding no other: {{cN::text}} or {{cN::text::hint}}
_CLOZE = re.compile(r"\{\{c(\d+)::((?:(?!\{\{|\}\}).)*?)\}\}", re.DOTALL)
_CLOZE_NUMBER = re.compile(r"\{\{c(\d+)::")


def _cloze(text: str, ordinal: int) -> str:
    """The answer side's rendering of cloze deletions (innermost first, as Anki nests)."""

    def reveal(match: re.Match[str]) -> str:
        number = int(match.group(1))
        shown = match.group(2).partition("::")[0]
        kind = "cloze" if number == ordinal else "cloze-inactive"
        return f'<span class="{kind}" data-ordinal="{number}">{shown}</span>'

    while True:
        text, count = _CLOZE.subn(reveal, text)
        if not count:
            return text


def _fill(template: str, values: dict[str, str], ordinal: int) -> str:
    """Anki's template language, as much of it as the corpora's note types use."""

    def section(match: re.Match[str]) -> str:
        shown = bool(values.get(match.group(2), "").strip())
        return match.group(3) if shown == (match.group(1) == "#") else ""

    while True:
        template, count = _SECTION.subn(section, template)
        if not count:
            break

    def field(match: re.Match[str]) -> str:
        *filters, name = match.group(1).split(":")
        text = values.get(name.strip(), "")
        for name_of_filter in reversed(filters):
            if name_of_filter == "cloze":
                text = _cloze(text, ordinal)
            elif name_of_filter == "type":
                text = ""
        return text

    return _FIELD.sub(field, template)


def _names(template: str) -> set[str]:
    return {name.split(":")[-1].strip() for name in _FIELD.findall(template)}


def card(note_type: dict[str, Any] | None, field: str, value: str) -> tuple[str, str]:
    """(body, css) of the answer side that shows `field` holding `value`, the other fields
    a placeholder, as Anki renders it: the first card template that shows the field.
    An unknown note type is Anki's stock Basic with the field as Front."""
    if note_type is None or field not in note_type["fields"]:
        note_type, field = STOCK, "Front"
    values = {name: PLACEHOLDER for name in note_type["fields"]}
    values[field] = value
    values["Deck"] = DECK
    numbers = [int(n) for n in _CLOZE_NUMBER.findall(value)] if note_type["cloze"] else []
    ordinal = min(numbers, default=1)
    templates = note_type["templates"]
    chosen = next((t for t in templates if field in _names(t["front"] + t["back"])), templates[0])
    values["FrontSide"] = _fill(chosen["front"], values, ordinal)
    return _fill(chosen["back"], values, ordinal), str(note_type["css"])
