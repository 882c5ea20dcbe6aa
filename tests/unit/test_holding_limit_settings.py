"""CART_MAX_PLACES_PER_SLOT and CART_MAX_UNPAID_ORDERS: defaults, overrides, and the values
that stop start-up with one line naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bp.cart.services.checkout import HoldingLimits
from shared.config import ConfigError, load_settings


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"CART_VAR_DIR": str(tmp_path / "var"), **values}


def test_holding_limits_default_to_four_places_a_slot_and_three_unpaid_orders(
    tmp_path: Path,
) -> None:
    settings = load_settings(_env(tmp_path))

    assert (settings.max_places_per_slot, settings.max_unpaid_orders) == (4, 3)


def test_holding_limits_come_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        _env(tmp_path, CART_MAX_PLACES_PER_SLOT="1000", CART_MAX_UNPAID_ORDERS=" 1 ")
    )

    assert (settings.max_places_per_slot, settings.max_unpaid_orders) == (1000, 1)


def test_checkout_takes_its_limits_from_the_settings_and_has_the_same_defaults(
    tmp_path: Path,
) -> None:
    configured = load_settings(
        _env(tmp_path, CART_MAX_PLACES_PER_SLOT="7", CART_MAX_UNPAID_ORDERS="5")
    )

    assert HoldingLimits.from_settings(configured) == HoldingLimits(7, 5)
    assert HoldingLimits.from_settings(load_settings(_env(tmp_path))) == HoldingLimits()


def test_holding_limits_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text("cart:\n  max_places_per_slot: 2\n  max_unpaid_orders: 5\n")

    settings = load_settings(_env(tmp_path), config_file=config)

    assert (settings.max_places_per_slot, settings.max_unpaid_orders) == (2, 5)


@pytest.mark.parametrize(
    ("name", "value", "upper"),
    [
        ("CART_MAX_PLACES_PER_SLOT", "0", 1000),
        ("CART_MAX_PLACES_PER_SLOT", "-1", 1000),
        ("CART_MAX_PLACES_PER_SLOT", "1001", 1000),
        ("CART_MAX_PLACES_PER_SLOT", "99999999999", 1000),
        ("CART_MAX_PLACES_PER_SLOT", "4.0", 1000),
        ("CART_MAX_PLACES_PER_SLOT", "four", 1000),
        ("CART_MAX_PLACES_PER_SLOT", "٣", 1000),
        ("CART_MAX_UNPAID_ORDERS", "0", 100),
        ("CART_MAX_UNPAID_ORDERS", "101", 100),
        ("CART_MAX_UNPAID_ORDERS", "1e2", 100),
        ("CART_MAX_UNPAID_ORDERS", "3 orders", 100),
    ],
)
def test_a_holding_limit_out_of_range_stops_start_up_naming_it(
    tmp_path: Path, name: str, value: str, upper: int
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(_env(tmp_path, **{name: value}))

    message = str(refused.value)
    assert message.startswith(f"{name} must be a whole number from 1 to {upper}, not ")
    assert "\n" not in message


@pytest.mark.parametrize("value", ["0", "true", "2.5", "-4"])
def test_a_holding_limit_out_of_range_in_the_config_file_stops_start_up(
    tmp_path: Path, value: str
) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(f"cart:\n  max_places_per_slot: {value}\n")

    with pytest.raises(ConfigError, match="^CART_MAX_PLACES_PER_SLOT must be a whole number"):
        load_settings(_env(tmp_path), config_file=config)
