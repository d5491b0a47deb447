"""User text made safe to show: Markdown escaping, descriptions limited to web links, dates and ordinals."""
from __future__ import annotations

import re

import streamlit as st

from allocator import config


def fmt_datetime(value, tz_name: str | None = None) -> str:
    """A date and time in the deployment's time zone, as people read it: 'Fri 4 Dec 2026, 17:00'."""
    if value is None:
        return "—"
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo(tz_name or config.load().timezone))
    return local.strftime("%a %-d %b %Y, %H:%M")


def md(text: object) -> str:
    """User text placed inside Markdown (labels, bold titles) shown as typed, never read as Markdown."""
    return "".join("\\" + c if c in "\\`*_[]<>#~|$" else c for c in str(text))


# Markdown people type (project descriptions) may link to web pages, nothing else: an image would make every
# viewer's browser fetch an address of the author's choosing, and other schemes (data:, javascript:, file:)
# have no business in a description.
_SAFE_LINK = re.compile(r"https?://", re.IGNORECASE)
_INLINE_LINK = re.compile(r"\]\(\s*<?([^\s)>]*)")
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*)>")
_REFERENCE = re.compile(r"^( {0,3})\[([^\]]+)\]:[ \t]*<?([^\s>]*)", re.MULTILINE)


def safe_markdown(text: object) -> str:
    """User Markdown kept as Markdown (emphasis, lists, http(s) links) but with every image shown as its
    source text and every link to anything but http(s) shown as text. A real Markdown parser then checks
    the result; should anything slip through, the whole text is shown escaped instead."""
    source = str(text)
    out = source.replace("![", "!\\[")
    out = _INLINE_LINK.sub(lambda m: m.group(0) if _SAFE_LINK.match(m.group(1)) else "]\\(" + m.group(0)[2:], out)
    out = _AUTOLINK.sub(lambda m: m.group(0) if _SAFE_LINK.match(m.group(1)) else "\\" + m.group(0), out)
    out = _REFERENCE.sub(lambda m: m.group(0) if _SAFE_LINK.match(m.group(3)) else m.group(1) + "\\" + m.group(0).lstrip(" "), out)
    return out if _only_web_links(out) else md(source)


def _only_web_links(text: str) -> bool:
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    parser.validateLink = lambda url: True  # see every link, including those a browser library would drop
    stack = list(parser.parse(text))
    while stack:
        token = stack.pop()
        if token.type == "image" or (token.type == "link_open" and not _SAFE_LINK.match(str(token.attrGet("href")))):
            return False
        stack.extend(token.children or ())
    return True


def user_markdown(text: object, *, title: str | None = None, empty: str = "_No description._") -> None:
    """Show Markdown someone typed (a project description): the one way pages render user Markdown.
    Given the `title` the page already shows, a heading repeating it is dropped (`description_markdown`)."""
    if not text:
        st.markdown(empty)
        return
    st.markdown(safe_markdown(description_markdown(title, str(text)) if title is not None else text))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def description_markdown(title: str, description: str) -> str:
    """A project's Markdown description for a page that already shows its title: a first heading that
    only repeats the title is dropped, and headings become small ones, so they do not outshout the page."""
    lines = (description or "").strip().splitlines()
    if lines and lines[0].lstrip().startswith("#"):
        heading = lines[0].lstrip().lstrip("#").strip().casefold()
        if heading == title.strip().casefold():
            lines = lines[1:]
            while lines and not lines[0].strip():
                lines = lines[1:]
    smaller = []
    in_code = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
        stripped = line.lstrip()
        level = len(stripped) - len(stripped.lstrip("#"))
        if not in_code and 1 <= level <= 6 and stripped[level:level + 1] in (" ", ""):
            line = "#####" + stripped[level:]
        smaller.append(line)
    return "\n".join(smaller).strip() or "_No description._"
