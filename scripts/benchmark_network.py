"""The emulated network of `scripts/benchmark`: the gateways serve from a process of their own.

Real gateways are on another machine. Served from a thread of the benchmark's process,
an emulator parsing a 1,000-number request would hold the interpreter's lock that Home
Assistant's event loop needs, and its CPU would count as the loop's lag. In a process of
their own (started with "spawn"), the loop's lag and CPU are Home Assistant's and ours
alone.

The benchmark talks to the process over a pipe: `NetworkProcess.start` answers a
`RemoteEmulator`, whose attribute reads, writes and method calls go over the pipe by
value (pickle) and run on the emulators' event loop in the child. Each is a blocking
round trip of well under a millisecond, made between or around measured windows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import inspect
import itertools
import multiprocessing
from multiprocessing.connection import Connection
import signal
import threading
import traceback
from typing import Any

from custom_components.ru_sms.providers.models import GatewayId
from scripts.emulators import fund
from tests.emulators.base import EmulatedGateway
from tests.emulators.catalog import ACCOUNTS

ANSWER_TIMEOUT = 60.0
"""Seconds to wait for the network's answer (the first waits for the child to start)."""
CLOSE_TIMEOUT = 5.0
"""Seconds the child has to exit once asked to."""


class NetworkError(RuntimeError):
    """An operation failed in the network's process (its traceback as the message)."""


# -- the child: an event loop in a thread, the pipe read in the main thread ------------------


class _Network:
    """The emulators of the child process and the loop they serve on."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.emulators: dict[int, EmulatedGateway] = {}
        self._keys = itertools.count()

    async def start(self, provider: GatewayId) -> tuple[int, frozenset[str]]:
        """Start an emulator with money for any benchmark: its key and its method names."""
        emulator = ACCOUNTS[provider].emulator()
        fund(emulator)
        await emulator.start()
        key = next(self._keys)
        self.emulators[key] = emulator
        methods = frozenset(
            name
            for name in dir(emulator)
            if not name.startswith("_") and inspect.ismethod(getattr(emulator, name))
        )
        return key, methods

    async def perform(self, op: str, key: int, args: tuple[Any, ...]) -> Any:
        """Run one operation of the protocol on the emulators' loop."""
        if op == "start":
            return await self.start(*args)
        emulator = self.emulators[key]
        if op == "stop":
            del self.emulators[key]
            return await emulator.stop()
        if op == "get":
            return getattr(emulator, *args)
        if op == "set":
            return setattr(emulator, *args)
        if op == "call":
            name, call_args, kwargs = args
            result = getattr(emulator, name)(*call_args, **kwargs)
        elif op == "apply":
            function, call_args = args
            result = function(emulator, *call_args)
        else:
            raise ValueError(f"unknown operation {op!r}")
        return await result if inspect.isawaitable(result) else result

    async def stop_all(self) -> None:
        """Stop every emulator still serving."""
        for emulator in self.emulators.values():
            await emulator.stop()
        self.emulators.clear()


def serve(conn: Connection) -> None:
    """The child's main: answer the parent's requests until it closes or goes away.

    Requests are `(op, key, args)`; answers `(True, value)` or `(False, traceback)`.
    Every access to an emulator runs on the loop thread, never on this one.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    network = _Network()
    network.thread.start()
    try:
        while True:
            try:
                op, key, args = conn.recv()
            except EOFError:  # the parent is gone
                break
            if op == "close":
                break
            try:
                value = asyncio.run_coroutine_threadsafe(
                    network.perform(op, key, args), network.loop
                ).result(ANSWER_TIMEOUT)
                conn.send((True, value))
            except Exception:  # noqa: BLE001 - raised again in the parent
                conn.send((False, traceback.format_exc()))
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(network.stop_all(), network.loop).result(CLOSE_TIMEOUT)
        network.loop.call_soon_threadsafe(network.loop.stop)
        network.thread.join(CLOSE_TIMEOUT)
        conn.close()


# -- the parent's side ----------------------------------------------------------------------


class NetworkProcess:
    """A process of its own where the emulators serve, as a network would."""

    def __init__(self) -> None:
        """Start the process (daemonic: it never outlives the benchmark)."""
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=serve, args=(child,), name="ru_sms emulators", daemon=True
        )
        self._process.start()
        child.close()  # the child's end lives in the child: its exit ends our reads
        self._lock = threading.Lock()

    def request(self, op: str, key: int = -1, *args: Any) -> Any:
        """Send one request and wait for its answer; the child's errors raise here."""
        with self._lock:
            try:
                self._conn.send((op, key, args))
                if not self._conn.poll(ANSWER_TIMEOUT):
                    raise TimeoutError(f"the network process did not answer {op!r}")
                ok, value = self._conn.recv()
            except (EOFError, OSError) as err:
                raise NetworkError(
                    f"the network process is gone (exit code {self._process.exitcode})"
                ) from err
        if not ok:
            raise NetworkError(f"{op} failed in the network process:\n{value}")
        return value

    async def start(self, provider: GatewayId) -> RemoteEmulator:
        """A started emulator for `provider`, with money for any send."""
        key, methods = await asyncio.to_thread(self.request, "start", -1, provider)
        return RemoteEmulator(self, key, methods)

    async def stop(self, emulator: RemoteEmulator) -> None:
        """Stop an emulator started by `start`."""
        await asyncio.to_thread(self.request, "stop", emulator.key)

    def close(self) -> None:
        """Stop the emulators and the process (terminated when it does not exit)."""
        with contextlib.suppress(OSError):  # already gone
            self._conn.send(("close", -1, ()))
        self._process.join(CLOSE_TIMEOUT)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(CLOSE_TIMEOUT)
        self._conn.close()


class RemoteEmulator:
    """An emulator serving in the network's process.

    Reads (`emulator.requests`), writes (`emulator.queued_seconds = 0`) and method calls
    (`emulator.advance(61)`) go over the pipe by value: what comes back is a copy.
    """

    def __init__(self, network: NetworkProcess, key: int, methods: frozenset[str]) -> None:
        """A proxy of the emulator `key` of `network`."""
        object.__setattr__(self, "network", network)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "methods", methods)

    network: NetworkProcess
    key: int
    methods: frozenset[str]

    @property
    def base_url(self) -> str:
        """Where the emulator listens (what `tests.conftest.make_entry` reads)."""
        return str(self.network.request("get", self.key, "base_url"))

    def apply[T](self, function: Callable[..., T], *args: Any) -> T:
        """`function(emulator, *args)` in the network's process.

        For what does not pickle, such as a closure set on the emulator: `function` must be
        a module-level function (it goes by name), `args` and its result by value.
        """
        result: T = self.network.request("apply", self.key, function, args)
        return result

    def __getattr__(self, name: str) -> Any:
        """The emulator's attribute, or a function calling its method."""
        if name.startswith("__"):  # copy and pickle probes: not the emulator's
            raise AttributeError(name)
        if name in self.methods:

            def call(*args: Any, **kwargs: Any) -> Any:
                return self.network.request("call", self.key, name, args, kwargs)

            return call
        return self.network.request("get", self.key, name)

    def __setattr__(self, name: str, value: Any) -> None:
        """Set the emulator's attribute."""
        self.network.request("set", self.key, name, value)
