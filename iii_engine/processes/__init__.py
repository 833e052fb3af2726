"""Worker processes: the supervisor that starts, restarts and stops ``exec`` workers.

It may import :mod:`iii_engine.config` and ``iii_sdk``.
"""
