"""The machinery of :mod:`dyntable.idempotency`: the record model, key and payload
hashing, result serializers and the claim / complete / release flow (no I/O)."""
