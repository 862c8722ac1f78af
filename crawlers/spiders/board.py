"""BoardSpider: 领导留言板 / 网络问政 list APIs (people.com.cn and boards like it).

source.url is the list API. params: method (GET | POST, default GET), form (POST form fields,
e.g. {"fid": "539", "showUnAnswer": "1", "typeId": "5", "lastItem": "", "position": "0",
"rows": "10", "orderType": "2"} for liuyan.people.com.cn/v1/threads/list/df), json (a JSON
body instead), list_path (where the records are, e.g. "resultData.data"), fields (record
names when they differ, e.g. {"title": "letterTitle"}), detail_url (default
https://liuyan.people.com.cn/threads/content?tid={id}).
Incremental: cursor.last_id is the newest numeric id stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.boards import BoardError, find_records, parse_records
from crawlers.feeds import matches_keywords
from crawlers.items import MentionItem
from crawlers.report import OK
from crawlers.spiders.base import SourceRef, SourceSpider
from crawlers.textutil import load_json

PEOPLE_DETAIL = "https://liuyan.people.com.cn/threads/content?tid={id}"


class BoardSpider(SourceSpider):
    name = "board"
    source_kind = "board"

    def requests_for(self, source: SourceRef) -> Iterable[scrapy.Request]:
        params = source.params
        headers = {"Accept": "application/json, text/plain, */*"}
        kwargs: dict[str, Any] = {"callback": self.parse_list, "errback": self.on_error,
                                  "cb_kwargs": {"source": source}, "dont_filter": True}
        if isinstance(params.get("json"), dict):
            yield scrapy.Request(source.url, method="POST", body=json.dumps(params["json"]),
                                 headers={**headers, "Content-Type": "application/json;charset=UTF-8"}, **kwargs)
        elif str(params.get("method", "GET")).upper() == "POST":
            form = {str(k): str(v) for k, v in (params.get("form") or {}).items()}
            yield scrapy.FormRequest(source.url, formdata=form, headers=headers, **kwargs)
        else:
            yield scrapy.Request(source.url, headers=headers, **kwargs)

    def parse_list(self, response: Response, source: SourceRef) -> Iterator[MentionItem]:
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
        report.status = OK
        report.fetched = len(messages)
        last = int(source.cursor.get("last_id") or 0)
        numeric = [int(m.id) for m in messages if m.id.isdigit()]
        if numeric and max(numeric) > last:
            report.new_cursor["last_id"] = max(numeric)
        detail = str(source.params.get("detail_url") or PEOPLE_DETAIL)
        for m in messages:
            if last and m.id.isdigit() and int(m.id) <= last:
                report.duplicate += 1
                continue
            if not matches_keywords(source.keywords, m.title, m.text):
                report.filtered += 1
                continue
            yield MentionItem(source_id=source.id, channel=source.channel, external_id=m.id,
                              url=detail.format(id=m.id), title=m.title[:500], text=m.text, author=m.author[:200],
                              published_at=m.published_at, likes=m.likes, raw=m.raw)
