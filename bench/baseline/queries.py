"""The SQL the project sends for its cart page, overview and add-to-cart, as text.

Captured from the project (bench/harness/count_statements.py --show, a SQLAlchemy
`before_cursor_execute` listener, on the bench's own database) at commit 364169f and pasted
here unchanged, casts and parameter numbers included, so that PostgreSQL is asked exactly
the same. No statement is in a transaction on either side: the pages only read, and add-to-
cart's one write commits by itself. bench/load.py compares these texts with the project's at
the start of each run and warns of any that differ."""

from __future__ import annotations

# Only what the pages show: id, slug and title.
_PAGES = "SELECT posts.id, posts.slug, posts.title FROM posts WHERE "
PAGE_BY_SLUG = _PAGES + "posts.slug = $1::VARCHAR"
PAGE_BY_ID = _PAGES + "posts.id = $1::INTEGER"

_LINES = (
    "SELECT cart_items.id, cart_items.product_id, cart_items.page_id, cart_items.quantity, "
    "cart_items.order_id FROM cart_items WHERE cart_items.session_id = $1::VARCHAR "
    "AND cart_items.user_id IS NULL AND cart_items.deleted_at IS NULL"
)
_LINES_ORDER = " ORDER BY cart_items.created_at, cart_items.id"
LINES_OF_ALL_PAGES = _LINES + _LINES_ORDER

# The columns of the project's ProductInfo.
_PRODUCTS = (
    "SELECT products.id, products.slug, products.title, products.price_minor, "
    "products.currency, products.available, products.page_id FROM products WHERE "
)
PRODUCT_BY_ID = _PRODUCTS + "products.id = $1::INTEGER"


def _integers_in(count: int) -> str:
    """`IN ($1::INTEGER, ..., $count::INTEGER)`: SQLAlchemy expands an `IN` parameter into
    one placeholder per value, so each count of ids is a statement text of its own."""
    return "IN (" + ", ".join(f"${n}::INTEGER" for n in range(1, count + 1)) + ")"


def products_by_ids(count: int) -> str:
    return _PRODUCTS + "products.id " + _integers_in(count)


def pages_by_ids(count: int) -> str:
    return _PAGES + "posts.id " + _integers_in(count)


# Pending bookings with the places their slot has taken; parameters: state, session id, then
# the two states that hold a place. (Every page's: the page cart's header counts them all.)
PENDING_ENTRIES = (
    "SELECT calendar_entries.id AS entry_id, calendar_entries.state, "
    "calendar_entries.order_id, calendar_slots.id AS slot_id, calendar_slots.calendar_id, "
    "calendars.page_id, calendar_slots.title, calendar_slots.starts_at, "
    "calendar_slots.ends_at, calendar_slots.places, calendar_slots.price_minor, "
    "calendar_slots.currency, (SELECT count(*) AS count_1 FROM calendar_entries AS "
    "calendar_entries_1 WHERE calendar_entries_1.slot_id = calendar_slots.id AND "
    "calendar_entries_1.state IN ($3::VARCHAR, $4::VARCHAR)) AS places_taken FROM "
    "calendar_entries "
    "JOIN calendar_slots ON calendar_slots.id = calendar_entries.slot_id "
    "JOIN calendars ON calendars.id = calendar_slots.calendar_id "
    "WHERE calendar_entries.state = $1::VARCHAR AND calendar_entries.session_id = "
    "$2::VARCHAR AND calendar_entries.user_id IS NULL "
    "ORDER BY calendar_slots.starts_at, calendar_entries.id"
)

_PENDING_ORDERS = (
    "SELECT orders.id, orders.public_ref, orders.number, orders.page_id, orders.total_minor, "
    "orders.currency, order_items.title, order_items.quantity FROM orders LEFT OUTER JOIN "
    "order_items ON order_items.order_id = orders.id WHERE orders.session_id = $1::VARCHAR "
    "AND orders.user_id IS NULL AND orders.status = $2::VARCHAR"
)
_PENDING_ORDERS_ORDER = " ORDER BY orders.created_at, orders.id, order_items.id"
PENDING_ORDER_OF_PAGE = (
    _PENDING_ORDERS + " AND orders.page_id = $3::INTEGER" + _PENDING_ORDERS_ORDER
)
PENDING_ORDERS = _PENDING_ORDERS + _PENDING_ORDERS_ORDER

# Parameters: user id, session id, page id, product id, quantity, now (created, updated and
# updated again: one parameter), the most a line may hold.
ADD_TO_LINE = (
    "INSERT INTO cart_items (user_id, session_id, page_id, product_id, quantity, created_at, "
    "updated_at) VALUES ($1::INTEGER, $2::VARCHAR, $3::INTEGER, $4::INTEGER, $5::INTEGER, "
    "$6::TIMESTAMP WITH TIME ZONE, $6::TIMESTAMP WITH TIME ZONE) ON CONFLICT (session_id, "
    "coalesce(page_id, 0), product_id) WHERE deleted_at IS NULL AND user_id IS NULL AND "
    "order_id IS NULL DO UPDATE SET quantity = (cart_items.quantity + excluded.quantity), "
    "updated_at = $6::TIMESTAMP WITH TIME ZONE WHERE cart_items.quantity + excluded.quantity "
    "<= $7::INTEGER RETURNING cart_items.id, cart_items.quantity"
)

# How many statements each baseline request sends (the report's "SQL/req" for the
# baseline): page = page, lines, products, pending bookings, pending order; overview =
# lines, products, pending bookings, pending orders, pages; add = product, upsert, page.
STATEMENTS = {"page": 5, "overview": 5, "add": 3}


def statements_of(request: str) -> int:
    """STATEMENTS of one of the bench's requests (page1, page10, page50, overview, add)."""
    return STATEMENTS["page" if request.startswith("page") else request]
