"""Plugin objects must subclass the ``iii_sdk.plugin`` protocols they implement.

The engine reads the optional members of :class:`~iii_sdk.plugin.BuiltinWorker` (``urls()``,
``external_functions()``, ``observer``) and of :class:`~iii_sdk.plugin.TriggerType` (the three
``*_format`` schemas) directly; their defaults live on the protocol classes. An object that only
matches the protocols structurally would fail much later with an ``AttributeError`` far from
the plugin's code, so it is refused where the engine first receives it, naming the class and
the fix.
"""

from __future__ import annotations

__all__ = ["require_subclass"]


def require_subclass(obj: object, protocol: type, what: str) -> None:
    """Raise :class:`TypeError` unless ``type(obj)`` subclasses ``protocol`` explicitly."""
    cls = type(obj)
    if protocol in cls.__mro__:
        return
    name = f"{cls.__module__}.{cls.__qualname__}"
    raise TypeError(
        f"{what}: {name} must subclass iii_sdk.plugin.{protocol.__name__} "
        f"(write `class {cls.__name__}({protocol.__name__}):`; the protocol supplies the "
        "defaults of its optional members)"
    )
