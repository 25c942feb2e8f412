"""dyntable's benchmarks: dyntable against raw boto3, the resource layer, PynamoDB, pydynox.

Run everything (starts its own DynamoDB Local, writes ``docs/benchmarks.md`` and
``docs/benchmarks.png``)::

    python -m benchmarks            # full run
    python -m benchmarks --quick    # about a minute, for smoke testing

Profile where dyntable's time goes::

    python -m benchmarks.profiling put|get|query|codec
"""
