"""SumUp's webhook: {"event_type": "CHECKOUT_STATUS_CHANGED", "id": "<checkout id>"}.

Unsigned, so its body is only a hint of which checkout to ask SumUp about; the status always
comes from SumUp itself (check_sumup_status). A body that is not that shape is refused and
changes nothing; an event type we do not know is acknowledged and ignored, as SumUp asks.
"""

from __future__ import annotations

import enum
import json
import logging
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.check_sumup_status import check_sumup_status
from bp.cart.services.payment_settings import SumUpClients
from shared.config import ConfigError
from sumup.errors import SumUpError

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 4 * 1024  # SumUp's notice is ~80 bytes
STATUS_CHANGED = "CHECKOUT_STATUS_CHANGED"
# SumUp's checkout ids are UUIDs; this admits any plain id that fits our column.
_CHECKOUT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class WebhookRejected(ValueError):
    """The body is not a SumUp webhook notice."""


class WebhookResult(enum.StrEnum):
    CHECKED = "checked"  # SumUp was asked and the answer recorded (or the id is not ours)
    IGNORED = "ignored"  # an event type we do not act on
    REJECTED = "rejected"  # not a webhook notice: nothing changed
    UNAVAILABLE = "unavailable"  # SumUp could not be asked now; its retry will come back


@dataclass(frozen=True)
class WebhookNotice:
    event_type: str
    checkout_id: str | None


def parse_webhook(body: bytes) -> WebhookNotice:
    """The notice in a webhook body, or WebhookRejected."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected("not JSON") from None
    except RecursionError:
        # Arrays nested thousands deep fit in the size limit; Python's parser gives up.
        raise WebhookRejected("JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise WebhookRejected("not a JSON object")
    event_type = data.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookRejected("no event_type")
    if event_type != STATUS_CHANGED:
        return WebhookNotice(event_type, None)
    checkout_id = data.get("id")
    if not isinstance(checkout_id, str) or not _CHECKOUT_ID.fullmatch(checkout_id):
        raise WebhookRejected("no usable checkout id")
    return WebhookNotice(event_type, checkout_id)


async def receive_webhook(
    session: AsyncSession, *, body: bytes | None, client_for: SumUpClients
) -> WebhookResult:
    """Act on one webhook body (None: larger than MAX_WEBHOOK_BYTES)."""
    if body is None:
        return WebhookResult.REJECTED
    try:
        notice = parse_webhook(body)
    except WebhookRejected as rejected:
        log.info("SumUp webhook refused: %s", rejected)
        return WebhookResult.REJECTED
    if notice.checkout_id is None:
        log.info("SumUp webhook of type %.40r ignored", notice.event_type)
        return WebhookResult.IGNORED
    try:
        await check_sumup_status(session, checkout_id=notice.checkout_id, client_for=client_for)
    except (SumUpError, ConfigError) as error:
        log.warning(
            "SumUp webhook for checkout %s: could not ask SumUp: %s", notice.checkout_id, error
        )
        return WebhookResult.UNAVAILABLE
    return WebhookResult.CHECKED
