"""The queue example's worker: an HTTP route that enqueues, and the job that processes it.

``POST /signup {"email": ...}`` runs ``emails::signup``, which hands ``emails::send`` to the
durable queue ``emails`` and answers 202 with the receipt at once. ``emails::send`` "sends" the
welcome email (prints a line). While the email provider is down (``emails::provider
{"up": false}``) every attempt fails: the job is retried with backoff, then dead-lettered;
once the provider is back, ``iii queue redrive emails`` runs it again.
"""

from __future__ import annotations

from typing import Any

from iii_sdk import Enqueue, Worker

worker = Worker()  # III_URL and III_WORKER_NAME are set by the engine
provider = {"up": True}


async def signup(request: dict[str, Any]) -> dict[str, Any]:
    """``POST /signup``: enqueue the welcome email, answer 202 with the receipt."""
    email = (request.get("body") or {}).get("email")
    if not email:
        return {"status_code": 400, "body": {"error": "email is required"}}
    receipt = await worker.trigger("emails::send", {"email": email}, action=Enqueue(queue="emails"))
    return {"status_code": 202, "body": {"queued": receipt["messageReceiptId"]}}


def send(job: dict[str, Any]) -> None:
    """The queued job: fails while the provider is down."""
    if not provider["up"]:
        raise RuntimeError(f"email provider is down, cannot send to {job['email']}")
    print(f"sent welcome email to {job['email']}", flush=True)


def set_provider(payload: dict[str, Any]) -> dict[str, bool]:
    """``{"up": bool}``: simulate an outage of the email provider."""
    provider["up"] = bool(payload.get("up", True))
    return dict(provider)


worker.register_function("emails::signup", signup)
worker.register_trigger("http", "emails::signup", {"api_path": "/signup", "http_method": "POST"})
worker.register_function("emails::send", send)
worker.register_function("emails::provider", set_provider)

if __name__ == "__main__":
    worker.run_forever()
