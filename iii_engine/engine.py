"""The engine: registries, router, listeners, built-in workers and worker processes.

Embed it and test against it in-process::

    async with Engine(load_config("config.yaml")) as engine:
        print(engine.worker_url)
        await engine.invoke("state::get", {"scope": "s", "key": "k"})
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Self

from iii_engine._version import ENGINE_VERSION
from iii_engine.access.external import ExternalFunctions
from iii_engine.access.listener_access import check_managers, listener_access, manager_path
from iii_engine.access.namespaces import Namespaces
from iii_engine.builtins.host import LocalWorkerContext, RunningBuiltin
from iii_engine.builtins.introspection import Introspection
from iii_engine.builtins.observability import install_log_functions
from iii_engine.builtins.rows import WorkerSummary, builtin_worker_summary
from iii_engine.channels.manager import ChannelManager
from iii_engine.config.plan import OBSERVABILITY, Plan, diff_plans, make_plan
from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import (
    EngineConfig,
    WorkerManagerConfig,
    default_config,
)
from iii_engine.core.peer import Peer
from iii_engine.core.registry import DEFAULT_NAMESPACE, FunctionRegistry
from iii_engine.core.router import Router
from iii_engine.core.trigger_frames import TriggerFrames
from iii_engine.core.triggers import TriggerRegistry
from iii_engine.core.workers import NamespaceHooks, WorkerTable
from iii_engine.observe.frames import ObserveFrames
from iii_engine.processes.supervisor import Supervisor
from iii_engine.server.badframes import cap_log_lines
from iii_engine.server.dispatch import FrameDispatcher
from iii_engine.server.listener import Listener
from iii_sdk.external import ExternalFunctionHost
from iii_sdk.observer import Observer
from iii_sdk.plugin import BuiltinWorker, Channel, WorkerSpec
from iii_sdk.protocol import RegisterFunction

__all__ = ["Engine"]

log = logging.getLogger("iii.engine")


class Engine:
    """A running iii engine. Use ``async with Engine(config) as engine``."""

    def __init__(
        self, config: EngineConfig | None = None, *, plugins: PluginManager | None = None
    ) -> None:
        self.config = config if config is not None else default_config()
        cap_log_lines("iii.engine", "iii.router")  # log lines may quote worker-chosen ids
        self.plugins = plugins if plugins is not None else PluginManager()
        self.version = ENGINE_VERSION
        self.functions = FunctionRegistry()
        self.router = Router(self.functions)
        self.triggers = TriggerRegistry(self.router)
        self.trigger_frames = TriggerFrames(self.triggers)
        self.observe_frames = ObserveFrames(self.functions, self.router)
        self.router.observe = self.observe_frames.activations
        self.channels = ChannelManager()
        self.workers = WorkerTable(
            self.functions,
            self.router,
            self.triggers,
            drop_channels=self.channels.drop_owner,
            spawn=self.spawn,
            namespaces=self._namespace_hooks(),
            register_external=self._register_external,
            observe=self.observe_frames,
        )
        self.frames = FrameDispatcher(
            self.router,
            self.workers,
            self.trigger_frames,
            self.on_telemetry,
            on_unknown=self.observe_frames.dispatch,
        )
        self.namespaces = Namespaces(
            self.functions,
            self.workers,
            self.triggers,
            grace_ms=lambda: self.config.registration_namespace_grace_ms,
            spawn=self.spawn,
            apply=self.frames.apply,
        )
        self.external = ExternalFunctions(self.functions, self.workers, self._external_host)
        self.supervisor = Supervisor()
        self.core_context = self._context("iii-engine-functions")
        self.introspection = Introspection(
            self.core_context,
            workers=self.workers,
            triggers=self.triggers,
            builtin_rows=self.builtin_rows,
        )
        self.listeners: list[Listener] = []
        self.builtins: dict[str, RunningBuiltin] = {}
        self.plan = Plan()
        self.telemetry_frames = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started = False

    # --- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Validate the config, then start listeners, built-ins and worker processes."""
        self.plugins.load()
        plan = make_plan(self.config, self.plugins)
        check_managers(self.config, plan.managers)
        self.plan = plan
        self._started = True
        try:
            self.channels.start()
            self.core_context.register_function(
                "engine::channels::create",
                self.channels.create_result,
                description="Create a data channel",
            )
            if not any(b.spec.name == OBSERVABILITY for b in plan.builtins.values()):
                install_log_functions(self.core_context)  # fallback: the plugin is not loaded
            await self.introspection.install()
            self.observe_frames.install(self.core_context)
            # Ready means ready: workers connect only once every built-in has registered.
            for instance_id, builtin in plan.builtins.items():
                await self._start_builtin(instance_id, builtin.spec, builtin.config)
            for instance_id, manager_config in plan.managers.items():
                await self._start_listener(instance_id, manager_config)
            for entry in plan.processes.values():
                await self.supervisor.start(entry, self.worker_url)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop everything: processes, built-ins (reverse order), listeners, tasks."""
        if not self._started:
            return
        self._started = False
        await self.supervisor.stop_all()
        for instance_id in reversed(list(self.builtins)):
            await self._stop_builtin(instance_id)
        for listener in self.listeners:
            await listener.stop()
        self.listeners.clear()
        await self.introspection.close()
        await self.router.close()
        self.observe_frames.close()
        await self.channels.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def apply_reload(self, config: EngineConfig) -> None:
        """Hot reload: restart only the entries whose definition changed.

        The new config is fully resolved first; a :class:`ConfigError` leaves everything
        running as it was (the CLI then exits, upstream's rule for an invalid file).
        """
        plan = make_plan(config, self.plugins)
        check_managers(config, plan.managers)
        changes = diff_plans(self.plan, plan)
        for instance_id in changes.stop_processes:
            await self.supervisor.stop(instance_id)
        for instance_id in reversed(changes.stop_builtins):
            await self._stop_builtin(instance_id)
        for instance_id in changes.stop_managers:
            await self._stop_listener(instance_id)
        self.config, self.plan = config, plan
        for instance_id in changes.start_managers:
            await self._start_listener(instance_id, plan.managers[instance_id])
        for instance_id in changes.start_builtins:
            builtin = plan.builtins[instance_id]
            await self._start_builtin(instance_id, builtin.spec, builtin.config)
        for instance_id in changes.start_processes:
            await self.supervisor.start(plan.processes[instance_id], self.worker_url)
        log.info(
            "config reloaded: %d stopped, %d started",
            len(changes.stop_managers) + len(changes.stop_builtins) + len(changes.stop_processes),
            len(changes.start_managers)
            + len(changes.start_builtins)
            + len(changes.start_processes),
        )

    async def _start_listener(self, instance_id: str, config: WorkerManagerConfig) -> None:
        listener = Listener(
            config,
            instance_id,
            workers=self.workers,
            frames=self.frames,
            channel_route=self.channels.handle,
            access=listener_access(
                config,
                manager_path(self.config, instance_id),
                router=self.router,
                spawn=self.spawn,
                namespaces=self.namespaces,
            ),
        )
        await listener.start()
        self.listeners.append(listener)

    async def _stop_listener(self, instance_id: str) -> None:
        for listener in [x for x in self.listeners if x.instance_id == instance_id]:
            self.listeners.remove(listener)
            await listener.stop()

    async def _start_builtin(self, instance_id: str, spec: WorkerSpec, config: Any) -> None:
        worker: BuiltinWorker = spec.factory(config)
        ctx = self._context(instance_id)
        running = RunningBuiltin(instance_id, worker, ctx)
        self.builtins[instance_id] = running
        await running.start()
        await self.external.rebind(worker.external_functions())
        observer = worker.observer
        if observer is not None:
            self._install_observer(observer)
        log.info("worker started: %s", instance_id)

    def _context(self, name: str) -> LocalWorkerContext:
        return LocalWorkerContext(
            name,
            self.config.base_dir,
            router=self.router,
            triggers=self.triggers,
            create_channel=self.channels.create_local,
        )

    async def _stop_builtin(self, instance_id: str) -> None:
        running = self.builtins.pop(instance_id, None)
        if running is not None:
            if self.router.observer is not None and self.router.observer is running.worker.observer:
                self.router.observer = None
            try:
                await running.stop()
            except Exception:
                log.exception("worker %s failed to stop cleanly", instance_id)

    # --- queries ---------------------------------------------------------------------------------

    @property
    def worker_url(self) -> str:
        """The URL workers connect to (the first worker-manager listener)."""
        return self.listeners[0].url

    @property
    def worker_urls(self) -> list[str]:
        """Every worker-manager listener's URL."""
        return [listener.url for listener in self.listeners]

    def builtin(self, name: str) -> BuiltinWorker:
        """The running built-in worker for an entry name (or alias); ``KeyError`` if none."""
        running = self.builtins.get(name)
        if running is None:
            spec = self.plugins.resolve(name)
            for instance_id, candidate in self.builtins.items():
                base = instance_id.split("#", 1)[0]
                if spec is not None and self.plugins.resolve(base) is spec:
                    running = candidate
                    break
        if running is None:
            raise KeyError(name)
        return running.worker

    def builtin_rows(self) -> list[WorkerSummary]:
        """``WorkerSummary`` rows for in-process workers."""
        contexts = [self.core_context, *(running.ctx for running in self.builtins.values())]
        return [builtin_worker_summary(c.name, self.version, c.function_count) for c in contexts]

    # --- services for components -----------------------------------------------------------------

    async def invoke(
        self,
        function_id: str,
        payload: Any = None,
        *,
        metadata: Any = None,
        namespace: str = DEFAULT_NAMESPACE,
        timeout_ms: float | None = None,
    ) -> Any:
        """Invoke a function from inside the engine."""
        return await self.router.invoke(
            function_id, payload, metadata=metadata, namespace=namespace, timeout_ms=timeout_ms
        )

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background task owned by the engine (cancelled on stop)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_telemetry(self, conn: Peer | None, frame: bytes) -> None:
        """An ``OTLP``/``MTRC``/``LOGS`` frame: handed to the observer, if one runs."""
        self.telemetry_frames += 1
        observer = self.router.observer
        if observer is not None:
            try:
                observer.on_telemetry(frame)
            except Exception as exc:
                log.warning("telemetry frame dropped: %s", exc)

    def _install_observer(self, observer: Observer) -> None:
        """Route spans, telemetry and worker counts to ``observer`` (:mod:`iii_sdk.observer`)."""
        self.router.observer = observer
        for _ in self.workers.connections:
            observer.on_worker(True)

    def _namespace_hooks(self) -> NamespaceHooks:
        engine = self

        class Hooks(NamespaceHooks):
            async def declare(self, conn: Peer, declared: str | None) -> None:
                await engine.namespaces.declare(conn, declared)

            async def release(self, conn: Peer) -> None:
                await engine.namespaces.release(conn)

        return Hooks()

    async def _register_external(self, conn: Peer, msg: RegisterFunction) -> None:
        """A ``registerfunction`` with an ``invocation`` block (see :mod:`iii_engine.access`)."""
        await self.external.register(conn, msg)

    def _external_host(self) -> ExternalFunctionHost | None:
        """The running host of HTTP-invoked functions (``iii-http-functions``), if any."""
        for running in self.builtins.values():
            host = running.worker.external_functions()
            if host is not None:
                return host
        return None

    def local_channel(self, buffer_size: int) -> Channel:
        """A data channel with in-process ends (``WorkerContext.create_channel``)."""
        return self.channels.create_local(buffer_size)
