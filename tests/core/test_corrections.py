"""What the duty officers teach the classifier: re-labels and false alarms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from core.alerts import service as alerts
from core.alerts.models import Alert
from core.config import Settings
from core.errors import InvalidInput
from core.mentions import service as mentions
from core.mentions.models import MentionCreate
from core.processing import service as processing
from core.users.models import User
from tests.core.factories import make_user

ADVERT = "新款SUV限时优惠，购车即送站前街道永安小区车位一年，欢迎到店试驾！"
HEATING = "家里才16度，老人孩子穿棉袄睡觉，打了好几次电话都没人来看。"


def _processed(session: Session, external_id: str, text: str) -> int:
    result = mentions.ingest(session=session, mention_in=MentionCreate(external_id=external_id, text=text))
    session.commit()
    assert result.mention.id is not None
    processing.process_mention(session=session, mention_id=result.mention.id)
    session.commit()
    return result.mention.id


def test_a_relabel_and_a_dismissed_alert_become_training_examples(session: Session) -> None:
    duty = make_user(session, "duty1", "duty")
    heating = _processed(session, "h1", HEATING)
    advert = _processed(session, "a1", ADVERT + "小区门口乱停车，消防通道堵了")
    mentions.relabel(session=session, mention_id=heating, topic="heating", actor_id=duty.id)
    event_id = mentions.get(session=session, mention_id=advert).event_id  # type: ignore[union-attr]
    # The duty officer dismisses the event's alert (opened by processing, or opened here).
    alert = next((a for a in alerts.get_all(session=session, status="open") if a.event_id == event_id), None) \
        or alerts.open_new(session=session, alert=Alert(kind="event", event_id=event_id, level="IV",
                                                         reason="测试", dedupe_key=f"test:{event_id}"))
    assert alert is not None and alert.id is not None
    alerts.dismiss(session=session, alert_id=alert.id, user_id=duty.id, reason="汽车广告，误报")
    session.commit()

    pairs = mentions.training_corrections(session=session)
    assert (HEATING, "heating") in [(t.strip(), topic) for t, topic in pairs]
    assert any(topic == "other" and "SUV" in text for text, topic in pairs)
    with pytest.raises(InvalidInput):
        mentions.relabel(session=session, mention_id=heating, topic="nonsense", actor_id=duty.id)


def test_duty_staff_relabel_through_the_api_and_handlers_may_not(app_env: Settings, session: Session) -> None:
    from api.main import create_app
    from api.security import create_access_token

    duty = make_user(session, "duty1", "duty")
    handler = make_user(session, "handler1", "handler")
    mention_id = _processed(session, "h1", HEATING)
    client = TestClient(create_app())

    def auth(user: User) -> dict[str, str]:
        assert user.id is not None
        return {"Authorization": f"Bearer {create_access_token(user.id, role=user.role)}"}

    r = client.post(f"/api/mentions/{mention_id}/label", json={"topic": "heating"}, headers=auth(duty))
    assert r.status_code == 200 and r.json()["label_topic"] == "heating"
    assert client.post(f"/api/mentions/{mention_id}/label", json={"topic": "x"},
                       headers=auth(duty)).status_code == 422
    assert client.post(f"/api/mentions/{mention_id}/label", json={"topic": "heating"},
                       headers=auth(handler)).status_code == 403


def test_classify_train_uses_the_stored_corrections_of_the_same_label_set(
        app_env: Settings, session: Session, tmp_path: Path) -> None:
    duty = make_user(session, "duty1", "duty")
    mention_id = _processed(session, "h1", HEATING)
    mentions.relabel(session=session, mention_id=mention_id, topic="heating", actor_id=duty.id)
    session.commit()
    data = tmp_path / "labelled.jsonl"
    rows = [{"text": f"暖气不热，屋里冷{i}", "topic": "heating"} for i in range(6)]
    rows += [{"text": f"小区门口乱停车{i}", "topic": "parking"} for i in range(6)]
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    env = {**os.environ}

    def train(path: Path) -> dict[str, object]:
        out = subprocess.run([sys.executable, "-m", "cli.main", "classify", "train", "--input", str(path),
                              "--model", str(tmp_path / "m.joblib")], env=env, capture_output=True,
                             text=True, timeout=300, check=False)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert train(data)["corrections_used"] == 1
    other = tmp_path / "other_labels.jsonl"  # another label set (e.g. 泰迪杯): the correction does not fit
    other.write_text("".join(json.dumps({"text": r["text"], "topic": "城乡建设" if r["topic"] == "heating"
                                         else "交通运输"}, ensure_ascii=False) + "\n" for r in rows),
                     encoding="utf-8")
    assert train(other)["corrections_used"] == 0
