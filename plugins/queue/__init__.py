"""iii-queue: durable named queues, the ``enqueue`` action and ``durable:subscriber`` topics."""
