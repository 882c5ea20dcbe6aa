"""The load bench's parts (bench/load.py runs them): database, servers, seeding, wrk, the
checkout client, statement counts, memory, the report."""
