"""Text normalization: traditional→simplified, full→half width, emoticons, URLs, mentions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

_URL_RE = re.compile(r"(?:https?://|www\.)[\w\-./?%&=#:~+]+|\bt\.cn/\w+", re.I)
# Weibo repost chain: "//@昵称:" ; plain "@昵称" mention ends at space/punct
_REPOST_RE = re.compile(r"//\s*@[\w\-]{1,30}\s*[:：]?")
_MENTION_RE = re.compile(r"@[\w\-]{1,30}")
_HASHTAG_RE = re.compile(r"#([^#\s]{1,40})#")
_EMOTICON_RE = re.compile(r"\[([\u4e00-\u9fa5A-Za-z]{1,8})\]")
_EMOJI_RE = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2764\ufe0f\u200d]+")
_SPACE_RE = re.compile(r"\s+")
_REPOST_FILLER = ("转发微博", "轉發微博", "Repost", "repost")


def _fullwidth_table() -> dict[int, int]:
    table = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
    table[0x3000] = 0x20
    return table


_FW_TABLE = _fullwidth_table()
_FW_CHARS = frozenset(chr(c) for c in _FW_TABLE)


@lru_cache(maxsize=1)
def _opencc_data() -> tuple[frozenset[str], dict[int, str]]:
    """The set of traditional-only characters, and a char-level t2s table."""
    import opencc

    dict_path = Path(opencc.__file__).resolve().parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    with dict_path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or len(parts[0]) != 1:
                continue
            target = parts[1].split(" ")[0]
            if target and target != parts[0]:
                table[ord(parts[0])] = target
    # characters that are also ordinary simplified characters (著, 乾, 干 ...) do not signal
    # traditional text; opencc's phrase tables handle them once conversion is triggered
    simplified_keys: set[str] = set()
    with (dict_path.parent / "STCharacters.txt").open(encoding="utf-8") as fh:
        for line in fh:
            key = line.split("\t", 1)[0]
            if len(key) == 1:
                simplified_keys.add(key)
    chars = frozenset(chr(c) for c in table if chr(c) not in simplified_keys)
    return chars, table


@lru_cache(maxsize=1)
def _opencc_converter() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Convert traditional Chinese to simplified; a fast no-op when nothing is traditional."""
    trad_chars, _table = _opencc_data()
    if trad_chars.isdisjoint(text):
        return text
    conv = _opencc_converter()
    return str(conv.convert(text))  # type: ignore[attr-defined]


@dataclass
class Normalized:
    """The normalized text plus the signals pulled out of it."""

    text: str
    emoticons: list[str] = field(default_factory=list)
    emoji: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    mentions: int = 0
    urls: int = 0
    is_repost: bool = False
    converted: bool = False
    repost_root: str | None = None  # the reposted original (last segment of a //@ chain)


def normalize(text: str) -> Normalized:
    """Normalize a raw post for analysis (keeps emoticons/emoji as separate signals)."""
    if not text:
        return Normalized(text="")
    raw = text if _FW_CHARS.isdisjoint(text) else text.translate(_FW_TABLE)
    simp = to_simplified(raw)
    converted = simp != raw
    urls = 0
    if "http" in simp or "www." in simp or "t.cn" in simp:
        simp, urls = _URL_RE.subn(" ", simp)
    is_repost = False
    mentions = 0
    repost_root: str | None = None
    if "@" in simp:
        segments = _REPOST_RE.split(simp)
        if len(segments) > 1:
            is_repost = True
            root = _strip_markup(segments[-1])
            if len(root) >= 8:
                repost_root = root
            simp = " ".join(segments)
        simp, mentions = _MENTION_RE.subn(" ", simp)
    for filler in _REPOST_FILLER:
        if filler in simp:
            simp = simp.replace(filler, " ")
            is_repost = True
    emoticons: list[str] = []
    if "[" in simp:
        emoticons = _EMOTICON_RE.findall(simp)
        simp = _EMOTICON_RE.sub(" ", simp)
    emoji: list[str] = []
    if not simp.isascii():
        found = _EMOJI_RE.findall(simp)
        if found:
            emoji = [e.replace("\ufe0f", "").replace("\u200d", "") for e in found]
            emoji = [e for e in emoji if e]
            simp = _EMOJI_RE.sub(" ", simp)
    hashtags: list[str] = []
    if "#" in simp:
        hashtags = _HASHTAG_RE.findall(simp)
        simp = _HASHTAG_RE.sub(lambda m: " " + m.group(1) + " ", simp)
    simp = _SPACE_RE.sub(" ", simp).strip()
    return Normalized(
        text=simp,
        emoticons=emoticons,
        emoji=emoji,
        hashtags=hashtags,
        mentions=mentions,
        urls=urls,
        is_repost=is_repost,
        converted=converted,
        repost_root=repost_root,
    )


def _strip_markup(text: str) -> str:
    """Remove mentions, emoticons, emoji and hashtag marks from a fragment (for repost roots)."""
    text = _MENTION_RE.sub(" ", text)
    for filler in _REPOST_FILLER:
        text = text.replace(filler, " ")
    text = _EMOTICON_RE.sub(" ", text)
    text = _EMOJI_RE.sub(" ", text)
    text = _HASHTAG_RE.sub(lambda m: " " + m.group(1) + " ", text)
    return _SPACE_RE.sub(" ", text).strip()
