"""64-bit SimHash over normalized tokens, and Hamming distance."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np

_MASK64 = (1 << 64) - 1


_HASH_CACHE: dict[str, int] = {}
_HASH_CACHE_MAX = 200_000


def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def _remember(token: str) -> int:
    if len(_HASH_CACHE) >= _HASH_CACHE_MAX:
        _HASH_CACHE.clear()
    value = _token_hash(token)
    _HASH_CACHE[token] = value
    return value


def simhash(tokens: Iterable[str]) -> int:
    """The 64-bit SimHash of a token sequence (term-frequency weighted); 0 for no tokens."""
    return simhash_counts(Counter(t for t in tokens if len(t) > 1 or "\u4e00" <= t <= "\u9fff"))


def simhash_tokens(tokens: list[str]) -> int:
    """SimHash of content tokens (repeats weight by frequency); no filtering."""
    if not tokens:
        return 0
    looked = list(map(_HASH_CACHE.get, tokens))
    if None in looked:
        looked = [h if h is not None else _remember(t) for t, h in zip(tokens, looked, strict=True)]
    hashes = np.array(looked, dtype="<u8")
    bits = np.unpackbits(hashes.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(tokens)
    packed = np.packbits(votes > 0, bitorder="little")
    return int.from_bytes(packed.tobytes(), "little") & _MASK64


def simhash_counts(token_counts: Mapping[str, int]) -> int:
    """SimHash from token → count (callers pass content tokens: no stopwords/punctuation)."""
    counts = token_counts
    if not counts:
        return 0
    looked = list(map(_HASH_CACHE.get, counts))
    if None in looked:
        looked = [h if h is not None else _remember(t) for t, h in zip(counts, looked, strict=True)]
    hashes = np.array(looked, dtype="<u8")
    weights = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    # bit i of each hash (little-endian byte order, lsb first within a byte)
    bits = np.unpackbits(hashes.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    votes = weights @ (2.0 * bits - 1.0)
    packed = np.packbits(votes > 0, bitorder="little")
    return int.from_bytes(packed.tobytes(), "little") & _MASK64


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes."""
    return ((a ^ b) & _MASK64).bit_count()


def bands(value: int, n_bands: int = 4, bits: int = 16) -> list[int]:
    """Split a 64-bit hash into n_bands integers of `bits` bits (low band first)."""
    mask = (1 << bits) - 1
    return [(value >> (i * bits)) & mask for i in range(n_bands)]
