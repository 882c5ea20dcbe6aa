"""The embedded default's stand-ins for the other services' pages (never in production).

The market and events services render the add-to-cart and booking forms on their own pages
in production; here `/` and `/shop/<page>/` play their part, and `/demo/sign-in` plays the
blog's sign-in, so that the whole cart can be clicked through with one command.
"""

from __future__ import annotations

from quart import Blueprint

bp = Blueprint("demo", __name__)

from bp.demo import routes  # noqa: E402,F401  (registers the routes on bp)
