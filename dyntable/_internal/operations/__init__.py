"""Operations: requests and flows (no I/O), run by the clients.

Internal: the public names are exported by :mod:`dyntable`, :mod:`dyntable.client` and
:mod:`dyntable.async_client`; the modules here may change between releases.
"""
