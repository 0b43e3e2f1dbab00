"""The automated audit: rules from a TOML file (data), applied before any exposure.

:func:`audit` is pure: it takes the validated upload and the facts the graph holds about its
creator (strikes, a duplicate caption) and returns the reasons to reject it (none: approved).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from graphrec.config import Settings, get_settings
from graphrec.errors import ConfigError

DEFAULT_RULES_PATH = Path(__file__).with_name("audit_rules.toml")


@dataclass(frozen=True)
class AuditRules:
    """The audit's configurable rules (see ``audit_rules.toml``)."""

    max_hashtags: int = 30
    strike_threshold: int = 3
    reject_duplicate_caption: bool = True
    repeated_char_run: int = 8
    banned_terms: tuple[str, ...] = ()
    link_bait_patterns: tuple[str, ...] = ()
    _banned: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)
    _link_bait: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            banned = tuple(
                re.compile(r"(?<!\w)" + re.escape(t.casefold()) + r"(?!\w)")
                for t in self.banned_terms
            )
            bait = tuple(re.compile(p, re.IGNORECASE) for p in self.link_bait_patterns)
        except re.error as e:
            raise ConfigError(f"audit rules: bad pattern: {e}") from e
        if self.max_hashtags < 1 or self.strike_threshold < 1 or self.repeated_char_run < 2:
            raise ConfigError(
                "audit rules: max_hashtags, strike_threshold must be >= 1, repeated_char_run >= 2"
            )
        object.__setattr__(self, "_banned", banned)
        object.__setattr__(self, "_link_bait", bait)


@dataclass(frozen=True)
class CreatorFacts:
    """What the graph says about the uploading creator."""

    creator_id: str
    strikes: int = 0
    account_score: float = 0.5
    duplicate_of: str | None = None


def load_rules(path: Path | None = None) -> AuditRules:
    """Rules from ``path`` (default: the packaged ``audit_rules.toml``)."""
    return _load_rules(Path(path or DEFAULT_RULES_PATH).resolve())


@cache
def _load_rules(path: Path) -> AuditRules:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"audit rules {path}: {e}") from e
    known = {f for f in AuditRules.__dataclass_fields__ if not f.startswith("_")}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"audit rules {path}: unknown keys {sorted(unknown)}")
    for key in ("banned_terms", "link_bait_patterns"):
        if key in data:
            data[key] = tuple(str(x) for x in data[key])
    try:
        return AuditRules(**data)
    except TypeError as e:
        raise ConfigError(f"audit rules {path}: {e}") from e


def rules_from_settings(settings: Settings | None = None) -> AuditRules:
    s = settings or get_settings()
    return load_rules(s.audit_rules_path)


def audit(
    *, caption: str, hashtags: list[str], facts: CreatorFacts, rules: AuditRules
) -> list[str]:
    """Reasons to reject the upload (empty list: approved). Every matching rule adds one."""
    reasons: list[str] = []
    text = caption.casefold()
    tag_text = " ".join(hashtags)
    for term, pattern in zip(rules.banned_terms, rules._banned, strict=True):
        squashed = term.casefold().replace(" ", "")
        if pattern.search(text) or pattern.search(tag_text) or squashed in hashtags:
            reasons.append(f"banned term: {term!r}")
    if len(hashtags) > rules.max_hashtags:
        reasons.append(f"spam: hashtag stuffing ({len(hashtags)} > {rules.max_hashtags})")
    if any(p.search(caption) for p in rules._link_bait):
        reasons.append("spam: link bait in caption")
    run = rules.repeated_char_run
    if re.search(r"(.)\1{" + str(run - 1) + ",}", caption, re.DOTALL):
        reasons.append(f"spam: repeated characters ({run} or more in a row)")
    if rules.reject_duplicate_caption and facts.duplicate_of:
        reasons.append(f"duplicate: same caption as {facts.duplicate_of} from this creator")
    if facts.strikes >= rules.strike_threshold:
        reasons.append(f"creator under strikes ({facts.strikes} >= {rules.strike_threshold})")
    return reasons
