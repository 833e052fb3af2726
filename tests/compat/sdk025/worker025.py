"""An official iii-sdk 0.25 worker for the mixed-SDK tests; run with ``.venv-sdk025``'s python.

``owner``: exports ``py25::double``. ``watcher <source>``: observes ``<source>`` with the target
``py25::seen``, which prints ``SEEN <envelope as JSON>`` per activation. Both print ``READY``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

from iii import InitOptions, register_worker


def main() -> None:
    mode = sys.argv[1]
    client = register_worker(
        os.environ["III_URL"],
        InitOptions(worker_name=f"py25-{mode}", otel={"enabled": False}),
    )
    if mode == "owner":
        client.register_function("py25::double", lambda n: n * 2)
    else:

        def seen(envelope: Any) -> None:
            print("SEEN", json.dumps(envelope, sort_keys=True), flush=True)

        client.register_function("py25::seen", seen)
        handle = client.observe(
            {"function_id": sys.argv[2], "capture": ["input", "output", "caller"]},
            "py25::seen",
        )
        handle.ready(timeout=10)
    print("READY", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
