"""An order's two names: a short number people read aloud, and an unguessable reference.

The number is for humans ("7KQ4-MZ2P" on the phone): no 0/O, 1/I/L or U/V to confuse.
It is unique in the database, not secret. The public reference goes into URLs; it is a
random token, so knowing one order's reference says nothing about another's.
"""

from __future__ import annotations

import secrets

# 29 symbols: digits and capitals without 0, 1, I, L, O, U, V. 8 of them: 29**8 ≈ 5e11.
NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
NUMBER_LENGTH = 8
PUBLIC_REF_BYTES = 16  # 22 URL-safe characters; Order.public_ref holds 32


def new_order_number() -> str:
    symbols = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))
    half = NUMBER_LENGTH // 2
    return f"{symbols[:half]}-{symbols[half:]}"


def new_public_ref() -> str:
    return secrets.token_urlsafe(PUBLIC_REF_BYTES)
