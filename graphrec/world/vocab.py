"""The vocabulary of the generated world: categories, their hashtags and caption words.

The same map tags an upload's caption (the lifecycle's tagging step reads
:data:`CATEGORY_KEYWORDS`), so a generated caption and a real one are tagged alike.
"""

from __future__ import annotations

# Each category: a handful of real-looking hashtags (the first is the category's own tag).
CATEGORY_HASHTAGS: dict[str, list[str]] = {
    "dance": ["dance", "dancechallenge", "choreography", "kpopdance", "hiphopdance", "ballet"],
    "comedy": ["comedy", "funny", "skit", "prank", "standup", "memes"],
    "diy": ["diy", "crafts", "homedecor", "woodworking", "upcycle", "lifehacks"],
    "cringe": ["cringe", "awkward", "fail", "secondhandembarrassment", "yikes", "oops"],
    "food": ["food", "recipe", "cooking", "streetfood", "baking", "foodie"],
    "pets": ["pets", "dog", "cat", "puppy", "kitten", "petsoftiktok"],
    "sports": ["sports", "football", "basketball", "soccer", "skills", "workoutmotivation"],
    "music": ["music", "singing", "cover", "guitar", "piano", "newmusic"],
    "beauty": ["beauty", "makeup", "skincare", "grwm", "nails", "hairstyle"],
    "gaming": ["gaming", "gamer", "minecraft", "fortnite", "speedrun", "esports"],
    "travel": ["travel", "wanderlust", "roadtrip", "beach", "hiking", "citytour"],
    "fitness": ["fitness", "gym", "workout", "yoga", "running", "homeworkout"],
    "education": ["education", "learnontiktok", "science", "history", "math", "studytips"],
    "fashion": ["fashion", "ootd", "streetstyle", "thrift", "outfit", "styling"],
    "tech": ["tech", "gadgets", "coding", "ai", "smartphone", "setup"],
    "art": ["art", "drawing", "painting", "digitalart", "sketch", "sculpture"],
}

# Suffixes that grow a category's tag list to the size a world asks for (#dancetok...).
TAG_SUFFIXES = [
    "tok", "life", "tips", "daily", "vibes", "hacks", "love", "trend", "pro", "101",
    "world", "lovers", "time", "goals", "clips", "moments", "community", "inspo", "fyp",
    "addict", "check", "season", "squad", "hour", "club", "lab", "nation", "challenge2026",
]  # fmt: skip

# Words a caption may contain, per category; the tagger maps them back to the category.
CATEGORY_KEYWORDS: dict[str, list[str]] = {
    "dance": ["dance", "choreo", "moves", "routine", "dancing"],
    "comedy": ["funny", "joke", "laugh", "hilarious", "skit"],
    "diy": ["diy", "build", "craft", "handmade", "project"],
    "cringe": ["cringe", "awkward", "embarrassing", "fail", "yikes"],
    "food": ["recipe", "cook", "delicious", "dinner", "bake"],
    "pets": ["dog", "cat", "puppy", "kitten", "pet"],
    "sports": ["goal", "match", "skills", "training", "game"],
    "music": ["song", "sing", "cover", "guitar", "beat"],
    "beauty": ["makeup", "skincare", "glow", "lipstick", "routine"],
    "gaming": ["gaming", "level", "boss", "stream", "speedrun"],
    "travel": ["trip", "travel", "beach", "city", "mountains"],
    "fitness": ["workout", "gym", "reps", "cardio", "stretch"],
    "education": ["learn", "fact", "science", "history", "explained"],
    "fashion": ["outfit", "style", "thrifted", "look", "fit"],
    "tech": ["gadget", "code", "phone", "setup", "ai"],
    "art": ["drawing", "paint", "sketch", "canvas", "art"],
}

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
    "ava", "leo", "mia", "noah", "zoe", "liam", "emma", "kai", "lily", "omar", "sofia", "yuki",
    "ines", "arjun", "chen", "amara", "jonas", "lucia", "mateo", "nora", "tariq", "sana",
]  # fmt: skip


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
