"""Fast multi-term lookup: index terms by their first two characters, verify with `in`."""

from __future__ import annotations

from collections.abc import Iterable


class TermMatcher:
    """Find which of many literal terms occur in a text, in time ~ proportional to the text."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._by_key: dict[str, list[str]] = {}
        for term in dict.fromkeys(t for t in terms if t):
            self._by_key.setdefault(term[:2], []).append(term)
        self._keys = frozenset(self._by_key)

    @staticmethod
    def grams_of(text: str) -> set[str]:
        """The character unigrams and bigrams of a text (shareable between matchers)."""
        grams = set(text)
        grams.update([text[i : i + 2] for i in range(len(text) - 1)])
        return grams

    def grams(self, text: str) -> set[str]:
        """Same as grams_of."""
        return self.grams_of(text)

    def find(self, text: str, grams: set[str] | None = None) -> list[str]:
        """Terms present in the text (order: by first-two-character key, then insertion)."""
        if grams is None:
            grams = self.grams(text)
        found: list[str] = []
        for key in self._keys.intersection(grams):
            for term in self._by_key[key]:
                if len(term) <= 2 or term in text:
                    found.append(term)
        return found
