"""BoardSpider: 领导留言板 / 网络问政 list APIs (people.com.cn and boards like it).

source.url is the list API. params: method (GET | POST, default GET), form (POST form fields,
e.g. {"fid": "539", "showUnAnswer": "1", "typeId": "5", "lastItem": "", "position": "0",
"rows": "10", "orderType": "2"} for liuyan.people.com.cn/v1/threads/list/df), json (a JSON
body instead), list_path (where the records are, e.g. "resultData.data"), fields (record
names when they differ, e.g. {"title": "letterTitle"}), detail_url (default
https://liuyan.people.com.cn/threads/content?tid={id}).
Paging: page_param (default "page"; sent in the query, the form or the JSON body), first_page
(default 1), max_pages (default 3), page_size (default the form/JSON rows/pageSize/size/limit).
Boards that page by cursor (liuyan.people.com.cn sends "lastItem" and "position" in its form)
are paged so: the next request carries lastItem = the id of the last record received and
position = how many records came before it (params.position = "page" sends the page index
instead); this is used whenever the form/JSON has a lastItem field (or params.paging =
"last_item"), and no page number is sent then.
Paging stops early at an empty page, a page with nothing new, a short page, or a record not
newer than the cursor.
Incremental: cursor.last_id is the newest numeric id stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response

from crawlers.boards import BoardError, find_records, parse_records
from crawlers.feeds import matches_keywords
from crawlers.items import MentionItem
from crawlers.report import OK
from crawlers.spiders.base import SourceRef, SourceSpider
from crawlers.textutil import load_json

PEOPLE_DETAIL = "https://liuyan.people.com.cn/threads/content?tid={id}"
_SIZE_KEYS = ("rows", "pageSize", "page_size", "size", "limit")


def with_query(url: str, name: str, value: str) -> str:
    """``url`` with the query parameter ``name`` set to ``value`` (replaced if present)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode([*query, (name, value)])))


class BoardSpider(SourceSpider):
    name = "board"
    source_kind = "board"

    def requests_for(self, source: SourceRef) -> Iterable[scrapy.Request]:
        yield self.page_request(source, 1, frozenset())

    @staticmethod
    def by_last_item(source: SourceRef) -> bool:
        """Whether the board pages by lastItem/position rather than by page number."""
        params = source.params
        if params.get("paging"):
            return str(params["paging"]) == "last_item"
        return any(isinstance(body, dict) and "lastItem" in body for body in (params.get("form"), params.get("json")))

    def page_size(self, source: SourceRef) -> int:
        params = source.params
        if params.get("page_size"):
            return self.int_param(source, "page_size", 0)
        for body in (params.get("form"), params.get("json")):
            if isinstance(body, dict):
                for key in _SIZE_KEYS:
                    if str(body.get(key, "")).isdigit():
                        return int(body[key])
        return 0  # unknown: only an empty or repeated page ends the paging

    def page_request(self, source: SourceRef, page: int, seen: frozenset[str], last_item: str = "",
                     received: int = 0) -> scrapy.Request:
        params = source.params
        name = str(params.get("page_param") or "page")
        number = self.int_param(source, "first_page", 1) + page - 1
        paging: dict[str, str | int]
        if self.by_last_item(source):
            position = page - 1 if str(params.get("position") or "") == "page" else received
            paging = {"lastItem": last_item, "position": position}
        else:
            paging = {name: number}
        headers = {"Accept": "application/json, text/plain, */*"}
        # A later page failing is a warning: the earlier pages were stored.
        kwargs: dict[str, Any] = {"callback": self.parse_list,
                                  "errback": self.on_error if page == 1 else self.on_page_error,
                                  "cb_kwargs": {"source": source, "page": page, "seen": seen, "received": received},
                                  "dont_filter": True}
        if isinstance(params.get("json"), dict):
            return scrapy.Request(source.url, method="POST", body=json.dumps({**params["json"], **paging}),
                                  headers={**headers, "Content-Type": "application/json;charset=UTF-8"}, **kwargs)
        if str(params.get("method", "GET")).upper() == "POST":
            form = {str(k): str(v) for k, v in (params.get("form") or {}).items()}
            return scrapy.FormRequest(source.url, formdata={**form, **{k: str(v) for k, v in paging.items()}},
                                      headers=headers, **kwargs)
        url = source.url
        for key, value in paging.items():
            url = with_query(url, key, str(value))
        return scrapy.Request(url, headers=headers, **kwargs)

    def parse_list(self, response: Response, source: SourceRef, page: int = 1,
                   seen: frozenset[str] = frozenset(), received: int = 0) -> Iterator[MentionItem | scrapy.Request]:
        report = self.report_for(source)
        report.http_status = response.status
        try:
            records = find_records(load_json(response.body), source.params.get("list_path"))
        except BoardError as exc:
            report.fail(str(exc), health=exc.health)
            return
        except ValueError:
            found = self.wall(response, self.decode(response))
            report.fail(found[1] if found else "留言板接口返回的不是 JSON", health=found[0] if found else "error")
            return
        messages = parse_records(records, datetime.now(UTC), source.params.get("fields"))
        if report.status != "error":
            report.status = OK
        fresh = [m for m in messages if m.id not in seen]  # a board that ignores the page number repeats page 1
        report.fetched += len(fresh)
        last = int(source.cursor.get("last_id") or 0)
        numeric = [int(m.id) for m in fresh if m.id.isdigit()]
        if numeric and max(numeric) > max(last, int(report.new_cursor.get("last_id") or 0)):
            report.new_cursor["last_id"] = max(numeric)
        detail = str(source.params.get("detail_url") or PEOPLE_DETAIL)
        reached_old = False
        for m in fresh:
            if last and m.id.isdigit() and int(m.id) <= last:
                report.duplicate += 1
                reached_old = True
                continue
            if not matches_keywords(source.keywords, m.title, m.text):
                report.filtered += 1
                continue
            yield MentionItem(source_id=source.id, channel=source.channel, external_id=m.id,
                              url=detail.format(id=m.id), title=m.title[:500], text=m.text, author=m.author[:200],
                              published_at=m.published_at, likes=m.likes, raw=m.raw)
        size = self.page_size(source)
        if (not fresh or reached_old or (size and len(records) < size)
                or page >= self.int_param(source, "max_pages", 3)):
            return
        yield self.page_request(source, page + 1, seen | {m.id for m in fresh}, last_item=messages[-1].id,
                                received=received + len(records))
