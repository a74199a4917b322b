"""Where infra runs find their configuration directories, runner and policy (`FLIGHTDECK_INFRA_*`).

The defaults need nothing installed: the sandbox runner, the shipped example directories and
the shipped policy rules. Setting `FLIGHTDECK_INFRA_TERRAFORM_BIN` (a terraform or tofu binary)
runs the real CLI; `FLIGHTDECK_INFRA_OPA_BIN` evaluates rego policies through opa instead.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.config import ConfigError

EXAMPLES_DIR = Path(__file__).parent / "examples"
"""The example configuration directories shipped with Flightdeck (the default infra root)."""


class InfraSettings(BaseSettings):
    """`FLIGHTDECK_INFRA_*` settings."""

    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_INFRA_", extra="ignore")

    root: Path = EXAMPLES_DIR
    """Relative run directories resolve against this."""
    terraform_bin: str | None = None
    """A terraform or tofu binary: run the real CLI instead of the sandbox runner."""
    policy_file: Path | None = None
    """Policy rules (YAML), or with an opa binary a .rego file or directory."""
    opa_bin: str | None = None
    stop_grace_seconds: float = Field(default=60.0, ge=1, le=3600)
    """How long a cancelled terraform may take to stop (and write its state) after SIGINT."""


def load_infra_settings() -> InfraSettings:
    """The settings from the environment; ConfigError with one readable line when invalid."""
    try:
        return InfraSettings()
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        name = "FLIGHTDECK_INFRA_" + str(first["loc"][0]).upper() if first["loc"] else "it"
        raise ConfigError(f"{name}: {first['msg']}") from None
