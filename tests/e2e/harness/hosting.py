"""Host the emulator in its own thread and event loop, on a free loopback port, with a kubeconfig.

Why a thread: Kopf (in ``KopfRunner``) and the test both want an event loop of their own, and
Kopf waits 5 s on exit for tasks it believes are its own when the server shares its loop. Why no
``kmock.Server``: it patches aiohttp's resolver process-wide (LIFO-stacked), which two servers in
two threads would unwind in the wrong order; a plain aiohttp ``RawTestServer`` is all we need.

    with ApiServer(directory=tmp_path) as apiserver:
        subprocess.run(["kubectl", "--kubeconfig", apiserver.kubeconfig, "get", "nodes"])
        client = apiserver.kubernetes_client()          # the official client, explicitly configured
        apiserver.call(lambda emulator: emulator.install_crd(crd))   # run code in the loop

The kubeconfig has one context, no credentials and plain http; kubectl, the official client
(``kubernetes.config.load_kube_config``/``new_client_from_config``) and Kopf
(``login_with_kubeconfig``, ``login_via_client``) all accept it.
"""

from __future__ import annotations

import asyncio
import pathlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp.test_utils
import attrs
import kmock
import yaml

from . import admission, apiserver, client, faults

T = TypeVar("T")


@attrs.define(kw_only=True)
class ApiServer:
    """An :class:`~.apiserver.Emulator` served over HTTP from a daemon thread."""

    directory: pathlib.Path
    seed: int = 0
    emulator: apiserver.Emulator = attrs.field(init=False)
    port: int = attrs.field(default=0, init=False)

    _thread: threading.Thread | None = attrs.field(default=None, init=False)
    _loop: asyncio.AbstractEventLoop | None = attrs.field(default=None, init=False)
    _stopping: asyncio.Event | None = attrs.field(default=None, init=False)
    _ready: threading.Event = attrs.field(factory=threading.Event, init=False)
    _failure: BaseException | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        self.emulator = apiserver.Emulator(seed=self.seed)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.directory / "kubeconfig"

    @property
    def faults(self) -> faults.Faults:
        return self.emulator.faults

    def start(self, *, timeout: float = 10) -> Self:
        """Start serving; returns once the port is listening and the kubeconfig is written."""
        self._thread = threading.Thread(target=self._run, name=f"apiserver-{id(self):x}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the API emulator did not start")
        if self._failure is not None:
            raise RuntimeError("the API emulator failed to start") from self._failure
        self._write_kubeconfig()
        return self

    def stop(self, *, timeout: float = 10) -> None:
        """End the watch streams, close the port, and join the thread."""
        if self._thread is None or self._loop is None or self._stopping is None:
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def call(self, fn: Callable[[apiserver.Emulator], T], *, timeout: float = 10) -> T:
        """Run `fn(emulator)` in the emulator's loop and return its result (thread-safe access)."""
        if self._loop is None:
            raise RuntimeError("the API emulator is not running")

        async def run() -> T:
            return fn(self.emulator)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def install_crd(self, crd: dict[str, Any]) -> dict[str, Any]:
        """Create a CustomResourceDefinition; its resource is served at once."""
        return self.call(lambda emulator: emulator.install_crd(crd))

    def versions(self, kind: str, name: str, *, namespace: str | None = "default") -> list[dict[str, Any]]:
        """Every version of one object, oldest first (:meth:`.apiserver.Emulator.versions`)."""
        api_version, plural, namespaced = client.KINDS[kind]
        group, _, version = api_version.rpartition("/")
        resource = kmock.resource(group, version, plural)
        return self.call(lambda emulator: emulator.versions(resource, namespace if namespaced else None, name))

    def admit_with(self, mutation: admission.Mutation) -> None:
        """Register a mutating admission step for pods created from now on (:mod:`.admission`)."""
        self.call(lambda emulator: emulator.mutations.append(mutation))

    def kubernetes_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` configured from this kubeconfig (not from $KUBECONFIG)."""
        import kubernetes  # imported late: it reads $KUBECONFIG at import

        return kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig))

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {}}],
            "contexts": [
                {"name": "emulator", "context": {"cluster": "emulator", "user": "emulator", "namespace": "default"}}
            ],
            "current-context": "emulator",
            "preferences": {},
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as e:  # surfaced to start()
            self._failure = e
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        async with self.emulator:
            server = aiohttp.test_utils.RawTestServer(self.emulator, host="127.0.0.1", port=self.port or None)
            await server.start_server()
            try:
                assert server.port is not None
                self.port = server.port
                self._ready.set()
                await self._stopping.wait()
            finally:
                self.emulator.close()
                await server.close()
