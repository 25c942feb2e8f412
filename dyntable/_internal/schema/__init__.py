"""Schema machinery: model specs, key templates, write receipts, model versions. Public
names: :mod:`dyntable.schema`."""
