"""Wire formats and transport machinery shared by the sync and async transports (HTTP/1.1,
the DynamoDB JSON protocol, SigV4, the cache core, the moto guard). Public names:
:mod:`dyntable.transport`."""
