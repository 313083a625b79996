"""Text normalisation shared by phrases and complaint texts.

NFKC (full-width → half-width, compatibility forms folded), lower case, and every character that is
not a letter or a digit removed: whitespace, punctuation, symbols, emoji. Digits are kept, so
"8号楼" and "８号楼" match alike. Phrases and texts go through the same function, so rule authors
write phrases naturally.
"""

from __future__ import annotations

import re
import unicodedata

# \W is "not a Unicode letter/digit/underscore"; the underscore is dropped explicitly.
_DROP = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    # Punctuation goes first: Chinese text is rarely NFKC-normal only because of its full-width
    # commas and colons, so the quick check then usually spares the full NFKC pass. (Symbols
    # that NFKC would turn into letters, such as ㎡, are dropped instead: phrases and texts
    # share this function, so they still agree.)
    text = _DROP.sub("", text)
    if not unicodedata.is_normalized("NFKC", text):
        text = _DROP.sub("", unicodedata.normalize("NFKC", text))
    return text.lower()


def normalise_with_offsets(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index of its source character.

    Slower than `normalise` (character by character); used only to quote matches back in the
    caller's own wording. Per-character NFKC equals whole-string NFKC for Chinese text.
    """
    out: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        for folded in _DROP.sub("", unicodedata.normalize("NFKC", char).lower()):
            out.append(folded)
            offsets.append(index)
    return "".join(out), offsets


def source_span(text: str, offsets: list[int], start: int, end: int) -> str:
    """The original substring behind normalised positions [start, end)."""
    if start >= end or end > len(offsets):
        return ""
    return text[offsets[start] : offsets[end - 1] + 1]
