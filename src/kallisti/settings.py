"""One settings object, read from `KALLISTI_*` environment variables.

The defaults make `kallisti serve` work alone: an embedded SQLite database in the
working directory and an in-process worker. Build it once (in `cli.py`, or in a
test) and pass it in; nothing here is created at import.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kallisti.domain.safety import BlackoutWindow

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Kallisti's configuration. Every field reads `KALLISTI_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="KALLISTI_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///kallisti.db",
        description="SQLAlchemy URL; sqlite:///path or postgresql://user@host/db.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    run_worker: bool = Field(
        default=True, description="Run a worker inside `kallisti serve`."
    )

    worker_concurrency: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Trials one worker runs at once. A waiting trial costs an asyncio "
        "task, not a thread (blocking drivers share a bounded pool of their own), "
        "so the default follows the work; lower it to spread trials over workers.",
    )
    lease_seconds: float = Field(default=30.0, gt=0)
    poll_interval_seconds: float = Field(
        default=0.5, gt=0, description="How often an idle worker looks for trials."
    )
    listen_poll_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often an idle worker looks for trials while it LISTENs "
        "for them (PostgreSQL): new trials and stops wake it at once; this poll "
        "finds expired leases and anything missed while reconnecting.",
    )
    stop_check_interval_seconds: float = Field(
        default=0.25, gt=0, description="How often a worker looks for stop requests."
    )
    step_timeout_seconds: float = Field(default=600.0, gt=0)
    event_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        description="How often a live trial stream (/trial/{id}/events) looks "
        "for changes in the database.",
    )

    module_map: dict[str, str] = Field(
        default_factory=dict,
        description='JSON object overriding namespaces, e.g. {"cm": "my.module"}.',
    )
    credential_map: dict[str, str] = Field(
        default_factory=dict,
        description='JSON object overriding credential types: {"TYPE": "mod:Class"}.',
    )
    k8s_service_account_token_path: str = (
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )

    max_body_bytes: int = Field(default=1_000_000, gt=0)
    info_platform: dict[str, Any] = Field(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres_driver(cls, url: str) -> str:
        # Users write postgresql://; we ship psycopg 3, not psycopg2.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    # --- Schedules, reports and notifications (issue 5) ---
    schedule_poll_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Longest wait between two looks for due schedules; a worker "
        "also looks at each whole minute, when cron ticks fall.",
    )
    report_header_title: str = Field(default="Kallisti Report", max_length=255)
    public_url: str | None = Field(
        default=None,
        description="Base URL of this service, for links in notifications.",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for notification e-mails; unset = none."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "kallisti@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    notification_max_attempts: int = Field(default=5, ge=1, le=50)
    notification_backoff_seconds: float = Field(default=1.0, ge=0)
    notification_backoff_max_seconds: float = Field(default=60.0, ge=0)
    notification_drain_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long a stopping worker waits for pending notifications.",
    )
    trial_observers: list[str] = Field(
        default_factory=list,
        description='JSON list of "module:attribute" observers called when a trial '
        "completes (Kallisti's KALLISTI_TRIAL_OBSERVERS).",
    )
    trial_creation_hooks: list[str] = Field(
        default_factory=list,
        description='JSON list of "module:attribute" callables run on each trial '
        "request before it is recorded (Kallisti's TRIAL_TASK_CREATION_HOOKS).",
    )

    # --- Access control, machine tokens, audit and limits (see kallisti.auth) ---
    # Kallisti's own names, unchanged: the token URL is its switch.
    auth_jwt_token_url: str = Field(
        default="",
        description="OAuth2 token endpoint; set, every API call needs a bearer token.",
    )
    auth_jwks_url: str = Field(
        default="",
        validation_alias=AliasChoices(
            "KALLISTI_AUTH_JWKS_URL", "KALLISTI_AUTH_JWKS_URI", "auth_jwks_url"
        ),
        description="JWKS endpoint the tokens' keys come from (also read as "
        "KALLISTI_AUTH_JWKS_URI, the upstream wrapper's spelling).",
    )
    auth_jwt_audience: str = ""
    auth_jwt_issuer: str = Field(default="", description="Required `iss`, if set.")
    auth_jwt_leeway_seconds: float = Field(default=30.0, ge=0, le=600)
    auth_jwks_refresh_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long fetched keys are trusted before the next fetch.",
    )
    claim_user_id_key: str = "sub"
    auth_type: str = "oauth2"
    auth_flow: str = "password"
    auth_url: str = ""
    auth_token_name: str = ""
    auth_client_id: str = ""
    auth_client_secret: SecretStr = SecretStr("")
    auth_client_app_name: str = "Kallisti"
    api_auth_class: str = Field(
        default="",
        description='"module:attribute" of a custom authentication class.',
    )
    api_permission_class: str = Field(
        default="",
        description='"module:attribute" of a custom permission class.',
    )
    auth_enabled: bool = Field(
        default=False,
        description="Require a bearer token even without a JWT issuer "
        "(machine tokens only).",
    )
    auth_roles_claim: str = Field(
        default="",
        description="Claim holding the caller's role names; unset, every valid "
        "token has every right (as in Kallisti).",
    )
    auth_scope_label: str = Field(
        default="",
        description="Experiment metadata label (and claim) that scopes callers.",
    )
    rate_limit_trials: str = Field(
        default="",
        description='Trials one caller may start, e.g. "30/minute"; unset = no limit.',
    )

    @field_validator("rate_limit_trials")
    @classmethod
    def _rate(cls, value: str) -> str:
        if value.strip():
            from kallisti.auth.ratelimit import parse_rate

            parse_rate(value)
        return value

    @property
    def access_control(self) -> bool:
        """Whether callers must prove who they are (off: everyone is anonymous)."""
        return bool(
            self.auth_jwt_token_url
            or self.auth_jwks_url
            or self.api_auth_class
            or self.auth_enabled
        )

    # --- Safety of the blast ---
    max_trial_duration_seconds: float | None = Field(
        default=None,
        gt=0,
        description="A trial running longer is stopped (stop_reason max_duration).",
    )
    target_lease_wait_seconds: float = Field(
        default=600.0,
        ge=0,
        description="How long a trial waits for a target another trial holds.",
    )
    blackout_windows: list[BlackoutWindow] = Field(
        default_factory=list,
        description='JSON list of {"name", "cron", "duration_seconds", "timezone"}: '
        "while one is open no trial starts.",
    )
