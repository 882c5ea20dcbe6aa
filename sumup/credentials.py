"""API keys: named by a reference (an environment variable, or a key of a YAML secrets
file), so settings, page configs and logs only ever hold the name, never the key."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from shared.config import ConfigError

# The sandbox is not SumUp: it accepts this one key and no other, so a client that sends
# nothing (or a real key by mistake) is refused as SumUp would refuse it.
SANDBOX_API_KEY = "sup_sk_sandbox_0000000000000000"


def resolve_api_key(ref: str, *, env: Mapping[str, str], secrets_file: Path | None) -> str:
    """The key named `ref`: the environment variable first, then the secrets file."""
    if env.get(ref):
        return env[ref]
    if secrets_file is not None:
        secrets = _read_secrets(secrets_file)
        value = secrets.get(ref)
        if isinstance(value, str) and value:
            return value
        if value is not None:
            raise ConfigError(f"SumUp API key {ref!r} in {secrets_file} is not a text value")
    where = f"the environment or {secrets_file}" if secrets_file else "the environment"
    raise ConfigError(f"SumUp API key {ref!r} is not set in {where}")


def _read_secrets(path: Path) -> dict[str, object]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"SumUp secrets file {path} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError:
        # The parser's message can quote the file's lines, keys included: not repeated.
        raise ConfigError(f"SumUp secrets file {path} is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"SumUp secrets file {path} must be a mapping of names to keys")
    return data
