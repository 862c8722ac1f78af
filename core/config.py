"""One Settings object for every process (api, worker, crawlers, cli)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BriefingPeriod = Literal["daily", "weekly", "monthly"]
BRIEFING_PERIODS: tuple[BriefingPeriod, ...] = ("daily", "weekly", "monthly")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YUQING_", env_file=".env", extra="ignore")

    # Storage: an embedded SQLite file unless a server URL is given.
    var_dir: Path = Path("var")
    database_url: str = ""
    # Queue: Redis when given; otherwise tasks run in-process (embedded mode).
    redis_url: str = ""

    secret_key: str = ""
    admin_password: str = ""
    token_minutes: int = 8 * 60
    # Login throttling: wrong passwords per account / per address within the window lock
    # that account / address for the lockout (429 with Retry-After).
    login_max_failures: int = 10
    login_max_failures_per_address: int = 50
    login_window_seconds: int = 15 * 60
    login_lockout_seconds: int = 15 * 60

    timezone: str = "Asia/Shanghai"
    office_name: str = "抚顺市新抚区站前街道办事处"
    public_url: str = "http://127.0.0.1:8000"
    # 日报/周报/月报 sent by the beat from this Beijing hour, for the last finished period of each kind.
    briefing_hour: int = 8
    briefing_periods: list[BriefingPeriod] = Field(default_factory=lambda: list(BRIEFING_PERIODS))
    # A sent briefing's download link (WeCom/DingTalk) works without a login for this many days.
    briefing_link_days: int = Field(default=7, ge=1, le=90)

    # Analysis config files (defaults are inside core/analysis/data).
    taxonomy_path: str = ""
    gazetteer_path: str = ""
    topic_model_path: str = ""

    # Clustering and grading.
    cluster_window_hours: int = 72
    # SimHash distance for near-duplicates (random pairs of real posts sit around 32; reposts
    # with a prefix or a trimmed tail measured 6-10 on the 3,707 real Weibo posts).
    cluster_max_distance: int = 8
    # Same story, other words: same primary topic, a shared place, bigram Jaccard at least this.
    cluster_story_jaccard: float = 0.2
    auto_ticket_grades: list[str] = Field(default_factory=lambda: ["I", "II"])

    # Request limits: a JSON (or form) body over max_body_bytes answers 413, so does an upload
    # (CSV/Excel import, OPML) over max_upload_bytes.
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 20 * 1024 * 1024
    # An .xlsx is a zip: refuse one that unpacks to more than this, or more than this many times
    # its packed size (a 0.1 MB file held 1 M rows), before parsing it.
    import_max_unpacked_bytes: int = 200 * 1024 * 1024
    import_max_zip_ratio: int = 100

    # Operations.
    # Mentions per processing task: one transaction and a few statements per step for the batch.
    process_batch_size: int = 50
    sweep_stale_minutes: int = 5
    # A queued mention is re-sent by the sweep only when it is still unanalyzed this long after
    # it was queued (the message is then taken as lost, e.g. Redis restarted without its data).
    sweep_requeue_minutes: int = 30
    crawl_user_agent: str = "yuqing/0.1 (+public-opinion monitor)"
    crawl_timeout_seconds: float = 20.0
    # Several crawler processes share one scrapy-redis scheduler and dupefilter here (empty: none).
    crawl_redis_url: str = ""

    # The response loop (duty roster, clocks, escalation, notifications).
    # How often beat runs the loop sweeps (alerts, ticket clocks, notification outbox).
    loop_sweep_seconds: float = 60.0
    # Per-grade clock overrides, e.g. {"III": {"response_hours": 36}}; defaults are 国办发〔2016〕61号.
    grade_clocks: dict[str, dict[str, int | None]] = Field(default_factory=dict)
    close_working_days: int = 5
    close_max_working_days: int = 60
    # Warn this long before a deadline; then escalate handler → unit head → 分管领导 → 主要领导
    # at these minutes after it.
    deadline_warn_minutes: int = 60
    escalation_delays_minutes: list[int] = Field(default_factory=lambda: [0, 60, 120, 240])
    # Grades whose tickets go to the principal leader (主要领导) at once.
    principal_at_once_grades: list[str] = Field(default_factory=lambda: ["I"])
    # An open alert: notify the person on duty at 0, re-notify, then escalate (minutes, audience).
    alert_steps: list[tuple[int, str]] = Field(default_factory=lambda: [
        (0, "duty"), (5, "duty"), (10, "duty"), (15, "duty_leader"), (30, "principal")])
    # Notifications: per-robot limit (overflow goes into one digest), retries with backoff.
    notify_rate_per_window: int = 20
    notify_rate_window_seconds: float = 60.0
    notify_max_attempts: int = 6
    notify_backoff_seconds: float = 30.0
    notify_timeout_seconds: float = 10.0
    notify_stale_claim_minutes: int = 10
    # Tries whose outcome is unknown (timeout after sending): at most this many, then it is
    # marked failed with the uncertainty shown, rather than sent a fifth time to a slow receiver.
    notify_max_uncertain_attempts: int = 2
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "yuqing@localhost"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{(self.var_dir / 'yuqing.sqlite').resolve()}"

    @property
    def embedded_queue(self) -> bool:
        return not self.redis_url


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for bare postgres URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests clear the cache)."""
    settings = Settings()
    # Private: the SQLite database (callers' contacts) and logs live here.
    settings.var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return settings
