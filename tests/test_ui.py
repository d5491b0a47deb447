"""Text helpers of allocator.ui that pages share."""
from __future__ import annotations

from allocator import ui


def test_a_first_heading_repeating_the_title_is_dropped():
    assert ui.description_markdown("Robot arms", "### Robot arms\n\nBuild arms.") == "Build arms."
    assert ui.description_markdown("Robot arms", "#  robot ARMS  \nBuild arms.") == "Build arms."


def test_other_headings_stay_but_small_and_code_is_untouched():
    text = "# Overview\nIntro.\n\n```\n# a comment in code\n```\n## Plan"
    assert ui.description_markdown("Robot arms", text) == (
        "##### Overview\nIntro.\n\n```\n# a comment in code\n```\n##### Plan")


def test_hashtags_and_empty_descriptions():
    assert ui.description_markdown("T", "#hashtag is not a heading") == "#hashtag is not a heading"
    assert ui.description_markdown("T", "") == "_No description._"
    assert ui.description_markdown("T", "# T") == "_No description._"
