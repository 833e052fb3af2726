"""The ``iii`` command: running the engine, ``trigger``, ``status``/``info``, logging setup and
the raw WebSocket client the subcommands talk to a running engine with.

It may import everything in ``iii_engine`` (the engine itself lazily, so subcommands that only
talk to a running engine start fast).
"""
