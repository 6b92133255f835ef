"""Compiled reads: a query's root fields answered by one SQL statement each, the JSON built
by PostgreSQL (docs/reads.md). `declare` holds the per-type declarations the type modules
make, `compiler` plans selections and writes the SQL, `roots` the root fields it answers,
`execute` the hook into execution and the response splicing."""
