"""Feature strings for the linear text models: jieba word tokens + character n-grams."""

from __future__ import annotations

import re

_NON_TEXT_RE = re.compile(r"[\s\W_]+")


def char_ngrams(text: str, ns: tuple[int, ...] = (1, 2), prefix: str = "") -> list[str]:
    """Character n-grams of the text with digits, spaces and punctuation squeezed out."""
    out: list[str] = []
    for chunk in _NON_TEXT_RE.split(text):
        length = len(chunk)
        if not length:
            continue
        for n in ns:
            if length < n:
                continue
            if n == 1:
                out.extend([prefix + ch for ch in chunk] if prefix else chunk)
            elif prefix:
                out.extend([prefix + chunk[i : i + n] for i in range(length - n + 1)])
            else:
                out.extend([chunk[i : i + n] for i in range(length - n + 1)])
    return out


def fast_char_grams(text: str) -> list[str]:
    """Character unigrams and bigrams over the whole text (bigrams may span punctuation;
    the model vocabulary drops the useless ones). Much cheaper than chunked n-grams."""
    grams = list(text)
    grams.extend(map(str.__add__, text[:-1], text[1:]))
    return grams


def text_features(text: str, tokens: list[str]) -> list[str]:
    """All feature strings for one document (words prefixed 'w', char n-grams 'c')."""
    feats = ["w" + t for t in tokens if not t.isdigit()]
    feats.extend(char_ngrams(text))
    return feats
