"""A shopper's journeys in a real browser (make test-e2e): Playwright driving Debian's
Chromium against a hypercorn server the tests start, with axe-core on every page."""
