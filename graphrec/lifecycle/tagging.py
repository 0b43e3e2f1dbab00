"""Tagging: an upload's hashtags and caption become tags, each in a category.

Pure logic (no graph): hashtags are normalised (``#Dance_Tok`` -> ``dance_tok``), the caption's
own ``#hashtags`` count too, caption words map to categories through
:data:`graphrec.domain.CATEGORY_KEYWORDS` (a match adds the category's own tag), and an
unknown hashtag is kept as a new tag whose category is inferred from the vocabulary it starts
with (``puppylove`` -> pets) or else ``other``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from graphrec.domain import CATEGORY_HASHTAGS, CATEGORY_KEYWORDS, OTHER_CATEGORY
from graphrec.errors import InvalidInput

OTHER = OTHER_CATEGORY
MAX_TAG_LENGTH = 64
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_CAPTION_HASHTAG = re.compile(r"#(\w+)", re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)

# Words (hashtags and caption keywords) that say a category, longest first for prefix matching.
_STEMS: list[tuple[str, str]] = sorted(
    {
        (w, cat)
        for cat in CATEGORY_HASHTAGS
        for w in (*CATEGORY_HASHTAGS[cat], *CATEGORY_KEYWORDS[cat])
        if len(w) >= 3
    },
    key=lambda x: (-len(x[0]), x[0], x[1]),
)
_KEYWORD_CATEGORIES: dict[str, list[str]] = {}
for _cat, _words in CATEGORY_KEYWORDS.items():
    for _w in _words:
        _KEYWORD_CATEGORIES.setdefault(_w, []).append(_cat)


@dataclass(frozen=True)
class Tagging:
    """One tag of an upload: its id, category, where it came from and whether it is new."""

    tag: str
    category: str
    source: str  # hashtag | caption
    new: bool = False


def normalise_hashtag(raw: str) -> str:
    """``#Dance_Tok!`` -> ``dance_tok``; empty when nothing word-like is left."""
    text = unicodedata.normalize("NFKC", raw).strip().lstrip("#").casefold()
    tag = _NON_WORD.sub("", text)
    if len(tag) > MAX_TAG_LENGTH:
        raise InvalidInput(f"hashtag {raw[:40]!r}... is longer than {MAX_TAG_LENGTH} characters")
    return tag


def normalise_hashtags(raw: Iterable[str], caption: str = "") -> list[str]:
    """The upload's hashtags and the caption's ``#words``, normalised, first occurrence kept."""
    out: dict[str, None] = {}
    for h in [*raw, *_CAPTION_HASHTAG.findall(caption)]:
        tag = normalise_hashtag(h)
        if tag:
            out.setdefault(tag, None)
    return list(out)


def caption_key(caption: str) -> str:
    """The caption as compared for duplicates: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", caption).casefold().split())


def infer_category(tag: str) -> str:
    """The category an unknown tag's text points to (longest vocabulary prefix), else other."""
    for stem, cat in _STEMS:
        if tag.startswith(stem):
            return cat
    return OTHER


def caption_categories(caption: str) -> list[str]:
    """Categories whose keywords appear as words in the caption, in order of appearance."""
    out: dict[str, None] = {}
    for word in _WORD.findall(caption.casefold()):
        for cat in _KEYWORD_CATEGORIES.get(word, []):
            out.setdefault(cat, None)
    return list(out)


def candidate_tags(hashtags: list[str], caption: str) -> list[str]:
    """Every tag an upload may get: its hashtags and its caption categories' own tags."""
    own = [CATEGORY_HASHTAGS[c][0] for c in caption_categories(caption)]
    return list(dict.fromkeys([*hashtags, *own]))


def tag_upload(hashtags: list[str], caption: str, known: Mapping[str, str]) -> list[Tagging]:
    """Tags for normalised ``hashtags`` and ``caption``; ``known`` maps tag -> category."""
    tags: dict[str, Tagging] = {}
    for h in hashtags:
        if h in known:
            tags[h] = Tagging(h, known[h], "hashtag")
        else:
            tags[h] = Tagging(h, infer_category(h), "hashtag", new=True)
    for cat in caption_categories(caption):
        own = CATEGORY_HASHTAGS[cat][0]
        if own not in tags:
            tags[own] = Tagging(own, known.get(own, cat), "caption", new=own not in known)
    return list(tags.values())
