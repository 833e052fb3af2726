"""iii-ticker: an example third-party trigger plugin for iii-py.

It provides the ``iii-ticker`` built-in worker and its ``ticker`` trigger type, which invokes
the bound function every ``interval_ms`` milliseconds (at most ``max_fires`` times).
"""

__version__ = "0.1.0"
