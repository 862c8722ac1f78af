"""One Settings object for every process (api, worker, crawlers, cli)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    timezone: str = "Asia/Shanghai"
    office_name: str = "抚顺市新抚区站前街道办事处"
    public_url: str = "http://127.0.0.1:8000"

    # Analysis config files (defaults are inside core/analysis/data).
    taxonomy_path: str = ""
    gazetteer_path: str = ""
    topic_model_path: str = ""

    # Clustering and grading.
    cluster_window_hours: int = 72
    cluster_max_distance: int = 3
    auto_ticket_grades: list[str] = Field(default_factory=lambda: ["I", "II"])

    # Operations.
    sweep_stale_minutes: int = 5
    crawl_interval_minutes: int = 15
    crawl_user_agent: str = "yuqing/0.1 (+public-opinion monitor)"
    crawl_timeout_seconds: float = 20.0

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
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return settings
