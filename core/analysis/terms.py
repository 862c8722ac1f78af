"""Fast multi-term lookup over a text's character uni/bigram set."""

from __future__ import annotations

from collections.abc import Iterable


class TermMatcher:
    """Find which of many literal terms occur in a text, in time ~ proportional to the text.

    Terms of one or two characters are found by intersecting with the text's character
    uni/bigram set; longer terms are indexed by their first two characters and verified.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self._short: frozenset[str] = frozenset()
        self._by_key: dict[str, list[str]] = {}
        short: set[str] = set()
        for term in dict.fromkeys(t for t in terms if t):
            if len(term) <= 2:
                short.add(term)
            else:
                self._by_key.setdefault(term[:2], []).append(term)
        self._short = frozenset(short)
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

    def find_set(self, text: str, grams: set[str] | None = None) -> set[str]:
        """The set of terms present in the text."""
        if grams is None:
            grams = self.grams_of(text)
        found = set(self._short.intersection(grams))
        by_key = self._by_key
        for key in self._keys.intersection(grams):
            for term in by_key[key]:
                if term in text:
                    found.add(term)
        return found

    def find(self, text: str, grams: set[str] | None = None) -> list[str]:
        """Terms present in the text, sorted."""
        return sorted(self.find_set(text, grams))
