"""Configuration: ``config.yaml`` (schema and loading), the plugin manager, the plan of
workers to run, config diffs and the file watcher behind hot reload.

It may import ``iii_sdk``, :mod:`iii_engine._version` and the standard library; nothing else
in ``iii_engine``.
"""
