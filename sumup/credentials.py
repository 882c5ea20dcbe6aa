"""API keys: named by a reference (an environment variable, or a key of a YAML secrets
file), so settings, page configs and logs only ever hold the name, never the key.

A reference is SUMUP_API_KEY or SUMUP_API_KEY_<NAME>, looked up in the environment and then
the secrets file, or any other key of the secrets file, looked up there only. Nothing else is
ever read: a page config naming SECRET_KEY (or any other variable) is refused, so the
session secret can never be sent to SumUp as a bearer token.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from shared.config import ConfigError
from shared.config_checks import (
    API_KEY_REF_RULE,
    is_environment_key_ref,
    read_secrets_file,
    shown_key_ref,
)

# The sandbox is not SumUp: it accepts this one key and no other, so a client that sends
# nothing (or a real key by mistake) is refused as SumUp would refuse it.
SANDBOX_API_KEY = "sup_sk_sandbox_0000000000000000"


def resolve_api_key(ref: str, *, env: Mapping[str, str], secrets_file: Path | None) -> str:
    """The key named `ref`: the environment variable first (for SUMUP_API_KEY and
    SUMUP_API_KEY_<NAME> only), then the secrets file. ConfigError names the reference,
    never a value."""
    from_environment = is_environment_key_ref(ref)
    if from_environment and env.get(ref):
        return env[ref]
    if secrets_file is not None:
        value = read_secrets_file(secrets_file).get(ref)
        if isinstance(value, str) and value:
            return value
        if value is not None:
            raise ConfigError(
                f"SumUp API key {shown_key_ref(ref)} in {secrets_file} is not a text value"
            )
    if not from_environment:
        raise ConfigError(
            f"SumUp API key reference {shown_key_ref(ref)} is not allowed: {API_KEY_REF_RULE}"
        )
    where = f"the environment or {secrets_file}" if secrets_file else "the environment"
    raise ConfigError(f"SumUp API key {shown_key_ref(ref)} is not set in {where}")
