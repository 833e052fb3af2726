"""Strict reading of ``config.yaml``: duplicate keys and unknown entry keys are errors.

PyYAML keeps the last of two equal keys without a word, and a misspelt entry key (``confg:``)
would silently run the worker with its defaults. Both are :class:`ConfigError`\\ s naming the
key path (``workers[1].config.port``). Keys upstream writes for its own tools (``worker_path``,
from ``iii worker add``) are accepted and ignored.
"""

from __future__ import annotations

import difflib
from typing import Any, Final

import yaml

from iii_sdk.errors import ConfigError

__all__ = ["ENTRY_KEYS", "check_entry_keys", "load_yaml"]

ENTRY_KEYS: Final = frozenset(
    {"name", "image", "config", "command", "cwd", "env", "restart", "watch", "worker_path"}
)
"""Keys a ``workers:`` entry may have (``worker_path`` is upstream's and ignored)."""


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that refuses a mapping with the same key twice, naming its path."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_duplicates(node, "", set())
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_entry_keys(raw: dict[Any, Any], where: str) -> None:
    """Raise for the first key of a worker entry that is not one of :data:`ENTRY_KEYS`."""
    for key in raw:
        if key in ENTRY_KEYS:
            continue
        text = str(key)
        close = difflib.get_close_matches(text, sorted(ENTRY_KEYS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        allowed = ", ".join(sorted(ENTRY_KEYS - {"worker_path"}))
        raise ConfigError(f"unknown key (allowed: {allowed}){hint}", f"{where}.{text}")


def _check_duplicates(node: yaml.Node, path: str, seen_nodes: set[int]) -> None:
    if id(node) in seen_nodes:  # an alias of a node already checked (maybe recursive)
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            child = _join(path, str(key))
            if key is not None and key != "<<":
                first = seen.get(key)
                if first is not None:
                    line = first.start_mark.line + 1
                    raise ConfigError(
                        f"duplicate key (first at line {line}, again at line "
                        f"{key_node.start_mark.line + 1})",
                        child,
                    )
                seen[key] = key_node
            _check_duplicates(value_node, child, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_duplicates(item, f"{path}[{index}]", seen_nodes)


def _join(path: str, key: str) -> str:
    return key if not path else f"{path}.{key}"
