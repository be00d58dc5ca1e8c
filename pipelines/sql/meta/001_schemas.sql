-- Layers of the warehouse, applied first.
create schema if not exists meta;
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists marts;
