"""Behaviour of core.analysis: topics, sentiment, places, events, grades, CLI contract."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.analysis import (
    ANALYZER_VERSION,
    TOPIC_CODES,
    TOPIC_LABELS,
    Analysis,
    StoryIndex,
    analyze,
    classify_lines,
    get_tokenizer,
    grade_event,
    hamming,
    normalize,
    train_model,
)
from tests.conftest import realdata

CN = timezone(timedelta(hours=8))
WINTER = datetime(2024, 12, 20, 9, 0, tzinfo=CN)
SUMMER = datetime(2024, 7, 10, 9, 0, tzinfo=CN)
TAIDI = "datasets/taidi2020_C_zhihui_zhengwu/fujian2_sample495_labeled.clean.csv"  # under ../shared/realdata


def test_it_exposes_the_twelve_topic_codes_with_chinese_labels() -> None:
    assert len(TOPIC_CODES) == 12 and TOPIC_CODES[-1] == "other"
    assert TOPIC_LABELS["parking"] == "停车管理"
    assert set(TOPIC_LABELS) == set(TOPIC_CODES)
    assert ANALYZER_VERSION


def test_it_files_a_plain_parking_complaint_under_parking() -> None:
    a = analyze("站前街道浑河南路小区门口天天乱停车，消防通道都堵了，有没有人管？")
    assert isinstance(a, Analysis)
    assert a.topics[0] == "parking"
    assert a.sentiment == "negative"
    assert 0.0 <= a.risk <= 1.0
    assert json.dumps(a.explain, ensure_ascii=False)


@pytest.mark.parametrize(
    "text",
    [
        "全新一代SUV上市，自动泊车、360全景影像，侧方停车一键搞定，到店试驾还有好礼",
        "窗含西岭千秋雪，今天的雪景真美，和朋友去公园赏雪拍照",
        "追完了这部拆迁题材的电视剧，大结局太好哭了，男主演技绝了",
        "这游戏队友真是垃圾，一把都没赢",
    ],
)
def test_it_does_not_take_hard_negatives_for_complaints(text: str) -> None:
    assert analyze(text, published_at=WINTER).topics == ["other"]


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("家里18度穿棉袄，交了三千多块钱就这待遇", "heating"),
        ("屋里冷得跟冰窖一样，孩子在家写作业都得戴手套", "heating"),
        ("单元门口那片冰面半个月了，每天出门像溜冰，我妈已经摔了一跤", "snow"),
        ("楼上天天半夜咚咚咚地蹦，孩子根本睡不了觉", "noise"),
        ("一拧开水龙头啥也没有，从昨晚到现在一滴水都没有", "utilities"),
    ],
)
def test_it_finds_complaints_that_avoid_the_obvious_keyword(text: str, topic: str) -> None:
    assert analyze(text, published_at=WINTER).topics[0] == topic


def test_it_reads_traditional_characters() -> None:
    norm = normalize("小區電動車在樓道裡充電，太危險了")
    assert norm.converted and "电动车" in norm.text
    a = analyze("小區樓道裡天天有人給電動車充電，電線從窗戶吊下來，遲早要出事")
    assert a.topics[0] == "safety"
    assert a.sentiment == "negative"


def test_it_normalizes_weibo_markup_and_keeps_emoticons() -> None:
    norm = normalize("//@张三:转发微博 #站前身边事# 太差了[怒]😡 http://t.cn/A6abc ＡＢＣ１２３")
    assert norm.emoticons == ["怒"] and norm.emoji == ["😡"]
    assert norm.hashtags == ["站前身边事"] and norm.urls == 1 and norm.is_repost
    assert "http" not in norm.text and "ABC123" in norm.text and "@" not in norm.text


def test_it_reads_sarcasm_as_negative() -> None:
    a = analyze("感谢物业让我欣赏垃圾艺术装置[微笑]")
    assert a.sentiment == "negative"
    assert a.topics[0] == "property"
    b = analyze("真是太感谢热力公司了，让我在家体验冰窖生活，穿着羽绒服看电视[允悲]")
    assert b.sentiment == "negative"


def test_it_reads_plain_praise_and_notices() -> None:
    assert analyze("给站前社区点赞！反映的问题两天就解决了，工作人员很耐心[赞]").sentiment == "positive"
    notice = analyze("【停水通知】因管网维修，本周四8:00至18:00站前路沿线部分区域停水，请居民提前储水。")
    assert notice.sentiment == "neutral"
    assert notice.topics[0] == "utilities"


def test_it_finds_places_and_marks_relevance() -> None:
    a = analyze("浑河南路站前小区门口的井盖丢了")
    assert "浑河南路" in a.places and "站前小区" in a.places
    assert a.relevant
    far = analyze("哈尔滨道外区某小区井盖丢了好几天")
    assert not far.relevant and far.places == []
    city_only = analyze("抚顺今天下大雪了")
    assert city_only.places == ["抚顺市"] and not city_only.relevant


def test_it_applies_snow_rules_more_strongly_in_winter() -> None:
    text = "路上全是积雪，好几天了"
    winter = analyze(text, published_at=WINTER)
    summer = analyze(text, published_at=SUMMER)
    rules_w = winter.explain["rules"]
    rules_s = summer.explain["rules"]
    assert isinstance(rules_w, dict) and isinstance(rules_s, dict)
    assert rules_w["snow"]["score"] > rules_s["snow"]["score"]
    assert rules_s["snow"].get("off_season") is True


def test_it_flags_sensitive_terms_and_raises_risk() -> None:
    calm = analyze("小区门口的路灯不亮了，麻烦修一下")
    hot = analyze("站前小区楼道电动车起火，多人受伤，居民聚集在楼下讨说法")
    assert "聚集" in hot.sensitive_terms and "受伤" in hot.sensitive_terms
    assert hot.risk > calm.risk


def test_it_uses_one_private_jieba_tokenizer_with_the_user_dictionary() -> None:
    import jieba

    tk = get_tokenizer()
    assert tk is get_tokenizer()
    assert tk is not jieba.dt
    assert "站前街道" in tk.lcut("我住在站前街道浑河南路")
    assert "浑河南路" in tk.lcut("我住在站前街道浑河南路")


def test_it_collapses_a_repost_storm_into_one_event() -> None:
    original = "站前小区3号楼楼道电动车充电起火，浓烟滚滚，居民紧急疏散，物业至今没人出面"
    index = StoryIndex(window=timedelta(hours=48))
    t0 = datetime(2024, 12, 1, 8, 0, tzinfo=CN)
    events: dict[str, str] = {}
    rng = random.Random(3)
    prefixes = ["转发微博", "太吓人了", "", "关注一下", "天哪[衰]", "求扩散"]
    for i in range(60):
        text = original if i == 0 else f"{rng.choice(prefixes)}//@网友{i}: //@站前居民:{original}"
        a = analyze(text)
        when = t0 + timedelta(minutes=i)
        hits = index.query(a, when)
        events[f"m{i}"] = events[str(hits[0])] if hits else f"m{i}"
        index.add(f"m{i}", a, when)
    assert len(set(events.values())) == 1
    other = analyze("浑河南路路灯坏了一个多月，晚上黑灯瞎火")
    assert index.query(other, t0 + timedelta(hours=1)) == []
    # outside the window nothing is returned
    assert index.query(analyze(original), t0 + timedelta(days=5)) == []


def test_it_measures_simhash_distance() -> None:
    a = analyze("小区门口垃圾成堆，一个月没人清运，臭气熏天")
    b = analyze("小区门口垃圾成堆，一个月没人清运，臭气熏天！！")
    c = analyze("退休金算错了，去社保局问了三次都让回去等")
    assert 0 <= a.simhash < 2**64
    assert hamming(a.simhash, b.simhash) <= 3
    assert hamming(a.simhash, c.simhash) > 10


def test_it_raises_the_grade_as_engagement_climbs() -> None:
    order = {None: 0, "IV": 1, "III": 2, "II": 3, "I": 4}
    common = dict(
        mention_count=30,
        negative_ratio=0.8,
        sensitive_terms=["聚集"],
        media_involved=False,
        relevant=True,
        max_risk=0.6,
    )
    last_rank, last_score = -1, -1.0
    grades = []
    for engagement in (50, 500, 5000, 50000, 500000):
        grade, score, reason = grade_event(
            engagement=engagement,
            engagement_2h_ago=engagement // 5,
            **common,  # type: ignore[arg-type]
        )
        assert order[grade] >= last_rank and score >= last_score
        last_rank, last_score = order[grade], score
        grades.append(grade)
        assert "聚集" in reason
    assert grades[0] != grades[-1]
    assert grades[-1] in ("I", "II")


def test_it_explains_a_grade_in_one_chinese_line() -> None:
    grade, score, reason = grade_event(
        mention_count=40,
        engagement=6000,
        engagement_2h_ago=1000,
        negative_ratio=0.9,
        sensitive_terms=["聚集"],
        media_involved=True,
        relevant=True,
        max_risk=0.7,
    )
    assert grade in ("I", "II") and 0 < score <= 1
    assert "增长6倍" in reason and "'聚集'" in reason and "\n" not in reason
    quiet = grade_event(
        mention_count=1,
        engagement=3,
        engagement_2h_ago=3,
        negative_ratio=0.0,
        sensitive_terms=[],
        media_involved=False,
        relevant=False,
        max_risk=0.1,
    )
    assert quiet[0] is None


def test_it_answers_every_input_line_in_order_even_bad_ones() -> None:
    lines = [
        json.dumps({"id": 1, "text": "暖气不热，家里才15度"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "x", "text": 5}),
        json.dumps({"id": 4, "text": "楼下广场舞太吵了"}, ensure_ascii=False),
    ]
    out = io.StringIO()
    n = classify_lines(io.StringIO("\n".join(lines) + "\n"), out, explain=True)
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert n == 4 and len(rows) == 4
    assert rows[0]["id"] == 1 and rows[0]["topics"][0] == "heating"
    assert set(rows[0]) >= {"id", "topics", "sentiment", "places", "risk", "explain"}
    assert rows[1] == {"id": None, "error": rows[1]["error"]} and rows[1]["error"]
    assert rows[2]["id"] == "x" and "error" in rows[2]
    assert rows[3]["topics"][0] == "noise" and "explain" in rows[3]


def test_it_trains_on_any_label_set_and_learns_from_corrections(tmp_path: Path) -> None:
    data = tmp_path / "labelled.jsonl"
    rows = []
    for i in range(20):
        rows.append({"text": f"第{i}路公交车晚点，等了一个小时，站台也没有遮雨棚", "topic": "交通"})
        rows.append({"text": f"学校{i}班的午餐太难吃了，孩子天天饿肚子", "topic": "教育"})
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    model = tmp_path / "m.joblib"
    metrics = train_model(input_path=str(data), model_path=str(model))
    assert model.exists() and metrics["examples"] == 40
    out = io.StringIO()
    classify_lines(
        io.StringIO(json.dumps({"id": 1, "text": "公交车又晚点了"}, ensure_ascii=False) + "\n"),
        out,
        model_path=str(model),
    )
    assert json.loads(out.getvalue())["topics"][0] == "交通"
    # a duty officer re-labels a post: the next training uses it
    fix = [("医院挂号排了三个小时的队", "卫生")] * 3
    metrics = train_model(input_path=str(data), model_path=str(model), extra_examples=fix)
    assert metrics["corrections"] == 3
    out = io.StringIO()
    classify_lines(
        io.StringIO(json.dumps({"id": 2, "text": "医院挂号排队太久"}, ensure_ascii=False) + "\n"),
        out,
        model_path=str(model),
    )
    assert json.loads(out.getvalue())["topics"][0] == "卫生"


def taidi_macro_f1(rows: list[dict[str, str]], seed: int, tmp_path: Path, *, stratified: bool = True) -> float:
    """Macro F1 of five-fold cross-validation on one shuffle of the 泰迪杯 sample."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import KFold, StratifiedKFold

    labels = [r["label"] for r in rows]
    y_true: list[str] = []
    y_pred: list[str] = []
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed) if stratified else \
        KFold(n_splits=5, shuffle=True, random_state=seed)
    for k, (train, test) in enumerate(splitter.split(rows, labels)):
        path = tmp_path / f"seed{seed}-fold{k}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i in train:
                r = rows[i]
                fh.write(
                    json.dumps({"title": r["title"], "text": r["text"], "topic": r["label"]}, ensure_ascii=False) + "\n"
                )
        model = tmp_path / f"seed{seed}-fold{k}.joblib"
        train_model(input_path=str(path), model_path=str(model))
        inp = io.StringIO(
            "".join(
                json.dumps({"id": int(i), "title": rows[i]["title"], "text": rows[i]["text"]}, ensure_ascii=False)
                + "\n"
                for i in test
            )
        )
        out = io.StringIO()
        classify_lines(inp, out, model_path=str(model))
        for i, line in zip(test, out.getvalue().splitlines(), strict=True):
            y_true.append(labels[i])
            y_pred.append(json.loads(line)["topics"][0])
    return float(f1_score(y_true, y_pred, average="macro"))


def test_it_reaches_the_taidi_macro_f1_in_five_fold_cross_validation(tmp_path: Path) -> None:
    # One lucky shuffle proves little: the bar holds on every one of several splits.
    with realdata(TAIDI).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # The full sweep (10 stratified + 10 plain shuffled splits) is benchmarks/taidi_cv.py; here two
    # stratified splits and a plain one (KFold seed 2 was the worst of 20 before CLASS_WEIGHT_POWER).
    scores = {
        "stratified 0": taidi_macro_f1(rows, 0, tmp_path),
        "stratified 1": taidi_macro_f1(rows, 1, tmp_path),
        "kfold 2": taidi_macro_f1(rows, 2, tmp_path, stratified=False),
    }
    assert min(scores.values()) >= 0.82, scores


def test_it_generalises_to_a_blind_set_written_after_the_training_set() -> None:
    from sklearn.metrics import f1_score

    path = Path(__file__).parent / "fixtures" / "blind_set.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    out = io.StringIO()
    classify_lines(io.StringIO("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)), out)
    got = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [g["id"] for g in got] == [r["id"] for r in rows]
    topic_f1 = f1_score([r["topic"] for r in rows], [g["topics"][0] for g in got], average="macro")
    sentiment_acc = sum(r["sentiment"] == g["sentiment"] for r, g in zip(rows, got, strict=True)) / len(rows)
    assert topic_f1 >= 0.85
    assert sentiment_acc >= 0.85


def test_it_reads_the_config_paths_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.analysis import Analyzer, clear_caches, get_paths

    gaz = tmp_path / "gaz.yaml"
    gaz.write_text(
        "jurisdiction: 测试街道\nplaces:\n  - {name: 测试街道, level: subdistrict, aliases: [测试街]}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("YUQING_GAZETTEER_PATH", str(gaz))
    clear_caches()
    try:
        assert get_paths().gazetteer == gaz
        a = Analyzer(use_default_model=False).analyze("测试街的路灯坏了")
        assert a.places == ["测试街道"] and a.relevant
    finally:
        monkeypatch.delenv("YUQING_GAZETTEER_PATH")
        clear_caches()


def test_it_does_not_claim_a_common_street_name_without_a_local_anchor() -> None:
    assert not analyze("哈尔滨中央大街人太多了").relevant
    local = analyze("抚顺中央大街的井盖丢了")
    assert local.relevant and local.places == ["抚顺市", "中央大街"]


def test_it_keeps_the_story_index_bounded_by_the_time_window() -> None:
    index = StoryIndex(window=timedelta(hours=1))
    t0 = datetime(2024, 1, 1, tzinfo=CN)
    rng = random.Random(5)
    for i in range(5000):
        index.add(i, rng.getrandbits(64) | 1, t0 + timedelta(seconds=i))
    assert len(index) <= 3601
    probe = rng.getrandbits(64) | 1
    index.add("x", probe, t0 + timedelta(seconds=5000))
    assert index.query(probe, t0 + timedelta(seconds=5001)) == ["x"]


def test_it_learns_a_duty_officers_dismissal_at_the_next_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.analysis.analyzer as analyzer_module
    from core.analysis import get_analyzer, reset_analyzers
    from core.analysis.model import forget_models

    text = "站前广场新开的暖锅店生意火热，暖气十足，停车也方便"
    model = tmp_path / "topic.joblib"
    monkeypatch.setenv("YUQING_TOPIC_MODEL_PATH", str(model))
    monkeypatch.setattr(analyzer_module, "RELOAD_CHECK_SECONDS", 0.0)
    forget_models()
    reset_analyzers()
    try:
        before = get_analyzer().analyze(text).topics[0]
        dismissals = [(text, "other"), ("站前新开的火锅店暖气足停车方便，推荐", "other")]
        metrics = train_model(model_path=str(model), extra_examples=dismissals)
        assert metrics["corrections"] == 2 and model.exists()
        after = get_analyzer().analyze(text).topics[0]
        assert after == "other"
        assert before in TOPIC_CODES
    finally:
        monkeypatch.undo()
        forget_models()
        reset_analyzers()


def test_it_groups_differently_worded_posts_about_the_same_local_story() -> None:
    index = StoryIndex()
    t0 = datetime(2024, 12, 1, 8, 0, tzinfo=CN)
    first = analyze("站前小区3号楼楼道电动车充电起火，浓烟滚滚，居民紧急疏散")
    second = analyze("刚才站前小区三号楼着火了，是楼道里充电的电动车引起的，浓烟很大")
    unrelated = analyze("站前小区门口的垃圾又没人清了，臭死了")
    index.add("a", first, t0)
    assert index.query(second, t0 + timedelta(minutes=20)) == ["a"]
    assert index.query(unrelated, t0 + timedelta(minutes=30)) == []


def test_a_denied_casualty_is_not_a_sensitive_signal() -> None:
    from core.analysis import analyze

    spared = analyze("站前街道一居民楼楼道电动车充电引发火灾，所幸无人员伤亡。")
    hurt = analyze("站前街道一居民楼楼道电动车充电引发火灾，造成人员伤亡。")
    assert "伤亡" not in spared.sensitive_terms and "火灾" in spared.sensitive_terms
    assert "伤亡" in hurt.sensitive_terms
    # Both local fires saturate at 1.0: compare where the risk has room to move.
    for spared_text, hurt_text in (
            ("外地一居民楼楼道电动车充电引发火灾，所幸无人员伤亡。",
             "外地一居民楼楼道电动车充电引发火灾，造成人员伤亡。"),
            ("站前街道一小区供暖不热，所幸无人员伤亡。", "站前街道一小区供暖不热，造成人员伤亡。")):
        spared, hurt = analyze(spared_text), analyze(hurt_text)
        assert "伤亡" not in spared.sensitive_terms and "伤亡" in hurt.sensitive_terms
        assert spared.risk < hurt.risk < 1.0, (spared_text, spared.risk, hurt.risk)
