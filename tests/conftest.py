"""Suite-wide settings: ``III_LOOP=uvloop`` runs every async test on uvloop (as the engine and
``Worker.run_forever()`` do by default when it is installed)."""

from __future__ import annotations

import os

if os.environ.get("III_LOOP", "").strip().lower() == "uvloop":
    from collections.abc import Callable, Mapping
    from typing import Any

    import uvloop

    def pytest_asyncio_loop_factories(config: Any, item: Any) -> Mapping[str, Callable[[], Any]]:
        """Make every test's event loop with uvloop."""
        return {"uvloop": uvloop.new_event_loop}
