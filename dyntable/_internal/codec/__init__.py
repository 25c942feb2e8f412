"""The codec's implementation: per-model compiled encoders and decoders, value conversion,
item size limits. Public names: :mod:`dyntable.codec`."""
