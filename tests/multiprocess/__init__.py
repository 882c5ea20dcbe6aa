"""Several processes, one database (make test-multiprocess): three hypercorn processes of the
app on PostgreSQL and Redis behind a round-robin proxy the tests run."""
