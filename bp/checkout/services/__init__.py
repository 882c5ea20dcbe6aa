"""The checkout blueprint's use cases: the webhook and the return page."""
