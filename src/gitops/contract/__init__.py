"""The data-contract engine: one declarative file describes the records; this package reads
it and derives validation, typing, the JSON Schema of a record, the data card's column table
and synthetic data from it."""
