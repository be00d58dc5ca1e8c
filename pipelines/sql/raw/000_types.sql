-- Closed vocabularies of the raw tables, stored as enums: one byte per row where a string column costs DuckDB
-- a string's statistics and compression on every insert. Staging casts them back to text, so nothing
-- downstream sees the difference.
-- They live in the main schema: DuckDB 1.5 cannot replay a write-ahead log that creates a type in another
-- schema (after a crash the warehouse would not open: "Schema with name raw does not exist").
create type if not exists time_precision as enum ('month', 'day', 'minute');
create type if not exists lsoa_vintage as enum ('lsoa11', 'lsoa21');
