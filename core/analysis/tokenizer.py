"""One jieba Tokenizer per process, with taxonomy terms and gazetteer names added."""

from __future__ import annotations

import logging
import math
import os
import threading

import jieba

from core.analysis.config import load_gazetteer, load_sentiment, load_taxonomy

jieba.setLogLevel(logging.WARNING)

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_tokenizer_pid: int | None = None

# Single characters and punctuation that carry no topic information.
_STOPWORD_TEXT = """
的 了 是 在 我 有 和 就 不 人 都 一 一个 上 也 很 到 说 要 去 你 会 着 没有 看 好 自己 这 那
他 她 它 们 我们 你们 他们 吗 吧 啊 呢 呀 哦 嗯 么 之 与 及 或 而 被 把 让 给 对 从 向
这个 那个 这些 那些 还 又 再 已 已经 但 但是 因为 所以 如果 就是 什么 怎么 为 以 等
, . ! ? : ; ， 。 ！ ？ ： ； 、 “ ” ‘ ’ " ' ( ) （ ） 【 】 《 》 … — - ~ · / \\ [ ]
# @ & * + = % < > | _ ^ ` { }
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split()) | frozenset({" ", "  ", "\t", "\n"})


def _user_words() -> list[str]:
    words: set[str] = set()
    tax = load_taxonomy()
    for rule in tax.topics.values():
        words.update(rule.keywords)
        words.update(rule.exclude)
    words.update(tax.sensitive_terms)
    lex = load_sentiment()
    words.update(lex.positive)
    words.update(lex.negative)
    gaz = load_gazetteer()
    words.update(gaz.alias_to_place)
    return sorted(w for w in words if len(w) >= 2 and " " not in w)


def _build() -> jieba.Tokenizer:
    tk = jieba.Tokenizer()
    tk.initialize()
    gaz = load_gazetteer()
    for word in _user_words():
        freq = tk.suggest_freq(word, tune=False)
        if word in gaz.alias_to_place:
            freq = max(freq, 5000)
        tk.add_word(word, freq=freq)
    return tk


def get_tokenizer() -> jieba.Tokenizer:
    """The process-wide jieba Tokenizer (rebuilt after fork is not needed; it is read-only)."""
    global _tokenizer, _tokenizer_pid
    tk = _tokenizer
    if tk is not None:
        return tk
    with _lock:
        if _tokenizer is None:
            _tokenizer = _build()
            _tokenizer_pid = os.getpid()
        return _tokenizer


def reset_tokenizer() -> None:
    """Drop the cached tokenizer (after configuration changes)."""
    global _tokenizer, _cutter
    with _lock:
        _tokenizer = None
        _cutter = None


_RE_HAN = jieba.re_han_default
_RE_SKIP = jieba.re_skip_default
_RE_ENG = jieba.re_eng


class _FastCutter:
    """jieba's accurate mode without HMM (same DAG, same route, same output), with the
    log-probabilities memoised instead of recomputed for every candidate word."""

    def __init__(self, tk: jieba.Tokenizer) -> None:
        self.freq: dict[str, int] = tk.FREQ
        self.logtotal = math.log(tk.total)
        self.logp: dict[str, float] = {}

    def _block(self, sentence: str) -> list[str]:
        freq = self.freq
        logp = self.logp
        logtotal = self.logtotal
        n = len(sentence)
        route: list[tuple[float, int]] = [(0.0, 0)] * (n + 1)
        for idx in range(n - 1, -1, -1):
            best: tuple[float, int] | None = None
            i = idx
            frag = sentence[idx]
            found = False
            while i < n and frag in freq:
                if freq[frag]:
                    found = True
                    lp = logp.get(frag)
                    if lp is None:
                        lp = math.log(freq[frag]) - logtotal
                        logp[frag] = lp
                    cand = (lp + route[i + 1][0], i)
                    if best is None or cand > best:
                        best = cand
                i += 1
                frag = sentence[idx : i + 1]
            if not found:
                # jieba: DAG falls back to the single character, scored log(FREQ.get or 1)
                single = sentence[idx]
                f = freq.get(single) or 1
                best = (math.log(f) - logtotal + route[idx + 1][0], idx)
            assert best is not None
            route[idx] = best
        out: list[str] = []
        x = 0
        buf = ""
        while x < n:
            y = route[x][1] + 1
            word = sentence[x:y]
            if y - x == 1 and _RE_ENG.match(word):
                buf += word
            else:
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(word)
            x = y
        if buf:
            out.append(buf)
        return out

    def lcut(self, sentence: str) -> list[str]:
        out: list[str] = []
        for blk in _RE_HAN.split(sentence):
            if not blk:
                continue
            if _RE_HAN.match(blk):
                out.extend(self._block(blk))
            else:
                for x in _RE_SKIP.split(blk):
                    if _RE_SKIP.match(x):
                        out.append(x)
                    else:
                        out.extend(x)
        return out


_cutter: _FastCutter | None = None


def _get_cutter() -> _FastCutter:
    global _cutter
    tk = get_tokenizer()
    cutter = _cutter
    if cutter is None or cutter.freq is not tk.FREQ:
        cutter = _FastCutter(tk)
        _cutter = cutter
    return cutter


# jieba's HMM (new-word discovery) is off: unknown words fall back to single characters,
# which the character n-gram features cover anyway, and cutting is ~20% faster.
USE_HMM = False


def tokenize(text: str) -> list[str]:
    """Cut normalized text into content tokens (stopwords and whitespace removed)."""
    words = get_tokenizer().lcut(text, HMM=True) if USE_HMM else _get_cutter().lcut(text)
    return [t for t in words if t not in STOPWORDS and not t.isspace()]
