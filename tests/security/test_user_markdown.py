"""User Markdown loads nothing remote and links only to web pages (issue 12, point 5; the browser side is in
test_browser_boundaries.py). Checked with a real CommonMark parser, not by string matching."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from allocator import ui

ROOT = Path(__file__).resolve().parents[2]


def rendered(text: str) -> tuple[list[str], list[str]]:
    """(image sources, link targets) a CommonMark renderer would produce from `text`."""
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    parser.validateLink = lambda url: True
    images, links, stack = [], [], list(parser.parse(text))
    while stack:
        token = stack.pop()
        if token.type == "image":
            images.append(token.attrGet("src"))
        if token.type == "link_open":
            links.append(token.attrGet("href"))
        stack.extend(token.children or ())
    return images, links


HOSTILE = [
    "![x](http://host/p.png)",
    "![x](https://host/p.png \"title\")",
    "![x][pic]\n\n[pic]: http://host/p.png",
    "![x]\n\n[x]: <http://host/p.png>",
    "[![x](http://host/p.png)](https://ok.example)",
    "\\![x](http://host/p.png)",
    "\\\\![x](http://host/p.png)",
    "[a](data:text/html,<script>alert(1)</script>)",
    "[a](  <data:text/html,hi>  )",
    "<data:text/html,hi>",
    "[a](javascript:alert(1))",
    "[a](JaVaScRiPt:alert(1))",
    "[a](vbscript:x)",
    "[a](file:///etc/passwd)",
    "[a](mailto:x@example.org)",
    "[a][r]\n\n[r]: data:text/html,hi",
    "[a][r]\n\n   [r]: javascript:alert(1)",
    "[a](//host/p)",
    "[a](/relative)",
    "[a](#anchor)",
    "Text ![x](http://host/a.png) more ![y](http://host/b.png)",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_image_and_only_web_links_survive(text):
    images, links = rendered(ui.safe_markdown(text))
    assert images == []
    assert all(link.lower().startswith(("http://", "https://")) for link in links), links


def test_ordinary_markdown_is_kept():
    text = "# Kites\n\nFly **kites**, see [the club](https://kites.example) and <https://wind.example>.\n\n- one\n- two"
    assert ui.safe_markdown(text) == text
    assert sorted(rendered(ui.safe_markdown(text))[1]) == ["https://kites.example", "https://wind.example"]


def test_the_words_of_a_refused_link_stay():
    assert "a data link" in ui.safe_markdown("[a data link](data:text/html,hi)")


def test_before_this_helper_the_hostile_texts_rendered_images_and_other_links():
    # The matrix above is meaningful: unchanged, these texts do produce images and non-web links.
    unsafe = [t for t in HOSTILE if (lambda r: r[0] or any(not h.lower().startswith("http") for h in r[1]))(rendered(t))]
    assert len(unsafe) >= len(HOSTILE) - 2


def test_every_page_shows_user_markdown_through_the_helper():
    """No page passes a description, a notification body or a preview straight to st.markdown."""
    offenders = []
    for path in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("markdown", "write") and node.args:
                if isinstance(node.args[0], ast.Constant):
                    continue  # the page's own wording
                source = ast.unparse(node.args[0])
                if any(word in source for word in ("description", ".body", "pp-desc")):
                    offenders.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert not offenders, offenders
