"""The ``dyntable`` command line (needs the ``cli`` extra: ``pip install 'dyntable[cli]'``).

The entry point is :data:`dyntable.cli.main.main`; subcommands are registered in
:data:`dyntable.cli.main.COMMANDS`.
"""
