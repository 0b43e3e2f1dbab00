"""The generator's own words: tag suffixes, caption templates, first names.

The categories, their hashtags and caption keywords are the product's
(:mod:`graphrec.domain`): the generator writes captions from the same words the real tagger
reads, so a generated caption and a real one are tagged alike.
"""

from __future__ import annotations

from graphrec.domain import CATEGORY_HASHTAGS, CATEGORY_KEYWORDS

__all__ = [
    "CAPTION_TEMPLATES",
    "CATEGORY_HASHTAGS",
    "CATEGORY_KEYWORDS",
    "FIRST_NAMES",
    "TAG_SUFFIXES",
    "category_tags",
]

# Suffixes that grow a category's tag list to the size a world asks for (#dancetok...).
TAG_SUFFIXES = [
    "tok",
    "life",
    "tips",
    "daily",
    "vibes",
    "hacks",
    "love",
    "trend",
    "pro",
    "101",
    "world",
    "lovers",
    "time",
    "goals",
    "clips",
    "moments",
    "community",
    "inspo",
    "fyp",
    "addict",
    "check",
    "season",
    "squad",
    "hour",
    "club",
    "lab",
    "nation",
    "challenge2026",
]

CAPTION_TEMPLATES = [
    "{w1} {w2} you have to see",
    "my {w1} {w2} today",
    "wait for the {w1} at the end",
    "day {n} of {w1} {w2}",
    "pov: your first {w1}",
    "{w1} vs {w2}, which one?",
    "trying the viral {w1} {w2}",
    "nobody talks about this {w1}",
    "rate my {w1} 1-10",
    "{w1} {w2} in {n} seconds",
]

FIRST_NAMES = [
    "ava",
    "leo",
    "mia",
    "noah",
    "zoe",
    "liam",
    "emma",
    "kai",
    "lily",
    "omar",
    "sofia",
    "yuki",
    "ines",
    "arjun",
    "chen",
    "amara",
    "jonas",
    "lucia",
    "mateo",
    "nora",
    "tariq",
    "sana",
]


def category_tags(tags_per_category: int) -> dict[str, list[str]]:
    """Each category's tags, grown with suffixes to ``tags_per_category`` names."""
    out: dict[str, list[str]] = {}
    for cat, base in CATEGORY_HASHTAGS.items():
        tags = list(base[:tags_per_category])
        i = 0
        while len(tags) < tags_per_category:
            tags.append(
                f"{cat}{TAG_SUFFIXES[i % len(TAG_SUFFIXES)]}"
                + ("" if i < len(TAG_SUFFIXES) else str(i))
            )
            i += 1
        out[cat] = tags
    return out
