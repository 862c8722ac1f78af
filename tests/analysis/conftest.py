"""Analysis tests: keep the auto-trained default model out of the working tree."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_model_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from core.analysis import reset_analyzers
    from core.analysis.model import forget_models

    old = os.environ.get("YUQING_TOPIC_MODEL_PATH")
    os.environ["YUQING_TOPIC_MODEL_PATH"] = str(tmp_path_factory.mktemp("models") / "topic.joblib")
    forget_models()
    reset_analyzers()
    yield
    if old is None:
        os.environ.pop("YUQING_TOPIC_MODEL_PATH", None)
    else:
        os.environ["YUQING_TOPIC_MODEL_PATH"] = old
    forget_models()
    reset_analyzers()
