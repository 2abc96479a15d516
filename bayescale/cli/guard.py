"""How a command runs: one line for every error, signals answered at once, a heartbeat.

:func:`run_command` runs a parsed command and turns what can go wrong into an exit code and one
line on standard error (``--debug`` shows the traceback instead):

* 2 - bad input: a ``ValueError`` or ``KeyError`` (``DataError``, ``UsageError``,
  ``OutputError``, ``ResourceError`` are ``ValueError``s), or an accelerator backend that
  ``JAX_PLATFORMS`` names but JAX cannot start (:func:`check_backend`);
* 130 / 143 - SIGINT (Ctrl-C) / SIGTERM: :class:`Guard` answers within a second, even while a
  compiled computation runs, removes the partial ``--out`` and exits;
* 1 - an internal error (a bug).

Signals. Python runs a signal handler only when the main thread returns to the interpreter,
which a long compiled call does not do for seconds or minutes. :class:`Guard` therefore asks
for the signal number on a socket (:func:`signal.set_wakeup_fd`, written by the C-level
handler at once) and a watcher thread acts on it. The same thread prints a heartbeat on a
terminal while no progress bar is shown, so a slow run can be told from a stuck one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import jax
from tqdm.auto import tqdm

from bayescale.results.atomic import discard_partial

#: Seconds of silence before the first heartbeat line, and between lines.
HEARTBEAT_S = 10.0
#: Exit codes: a bad input, an internal error, and 128 + the signal number for signals.
EXIT_USAGE, EXIT_INTERNAL = 2, 1
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class BackendError(ValueError):
    """The accelerator backend named by ``JAX_PLATFORMS`` cannot be started (exit code 2)."""


def check_backend() -> None:
    """Start JAX's backend if ``JAX_PLATFORMS`` names one; a failure is one clear line.

    Raises
    ------
    BackendError
        Saying which backend could not start and how to run on the CPU.
    """
    wanted = os.environ.get("JAX_PLATFORMS", "").strip()
    if not wanted or wanted == "cpu":
        return
    try:
        jax.devices()
    except Exception as err:  # noqa: BLE001 - any failure to start the backend
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BackendError(
            f"JAX_PLATFORMS={wanted} but JAX could not start that backend ({detail}): no such "
            "device, or its JAX plugin is not installed; to run on the CPU, set "
            "JAX_PLATFORMS=cpu (or unset it)"
        ) from None


def bars_showing() -> bool:
    """Whether a progress bar is on screen (then no heartbeat is needed)."""
    return bool(len(getattr(tqdm, "_instances", ()) or ()))


class Guard:
    """Answer SIGINT/SIGTERM at once and beat a heartbeat, for the duration of a ``with``.

    Parameters
    ----------
    targets
        Output paths of the command; on a signal their partial writes are removed
        (:func:`~bayescale.results.atomic.discard_partial`).
    label
        What is running, for the heartbeat (the command's name).
    stream
        Where the heartbeat goes (default standard error); it beats only on a terminal.
    exit
        Called with the exit code on a signal (default :func:`os._exit`; tests replace it).
    """

    def __init__(
        self,
        targets: Sequence[str | os.PathLike] = (),
        label: str = "bayescale",
        stream: object = None,
        exit: Callable[[int], object] = os._exit,
    ) -> None:
        self.targets = [Path(t) for t in targets]
        self.label = label
        self.stream = stream
        self.exit = exit
        self.started = time.monotonic()
        self.active = False
        self.handling = threading.Lock()  # one answer, from whichever thread sees it first

    def __enter__(self) -> Guard:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only; nothing to install
        self.read, self.write = socket.socketpair()
        self.read.setblocking(False)
        self.write.setblocking(False)
        self.stop_read, self.stop_write = socket.socketpair()
        self.handlers = {s: signal.getsignal(s) for s in SIGNALS}
        for s in SIGNALS:
            signal.signal(s, self.on_signal)
        self.previous_fd = signal.set_wakeup_fd(self.write.fileno(), warn_on_full_buffer=False)
        self.thread = threading.Thread(target=self.watch, name="bayescale-guard", daemon=True)
        self.active = True
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.active:
            return
        self.active = False
        signal.set_wakeup_fd(self.previous_fd)
        for s, h in self.handlers.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        with contextlib.suppress(OSError):
            self.stop_write.send(b"x")
        self.thread.join(timeout=2.0)
        for sock in (self.read, self.write, self.stop_read, self.stop_write):
            sock.close()

    def on_signal(self, signum: int, frame: object) -> None:
        """The Python-level handler: the watcher thread acts (the handler only runs once the
        main thread is back in Python, perhaps much later)."""
        self.interrupted(signum)

    def interrupted(self, signum: int) -> None:
        """Remove partial outputs, print one line and exit ``128 + signum`` (once)."""
        if not self.handling.acquire(blocking=False):
            return
        for target in self.targets:
            discard_partial(target)
        name = signal.Signals(signum).name
        line = f"bayescale: interrupted by {name}" + (
            "; partial output removed" if self.targets else ""
        )
        stream = self.stream or sys.stderr
        with contextlib.suppress(Exception):
            prefix = "\r\033[K" if stream.isatty() else "\n" if bars_showing() else ""
            stream.write(f"{prefix}{line}\n")
            stream.flush()
        self.exit(128 + signum)

    def heartbeat(self) -> None:
        """One line saying the command is still working (terminal only, no bar showing)."""
        stream = self.stream or sys.stderr
        with contextlib.suppress(Exception):
            if stream.isatty() and not bars_showing():
                elapsed = time.monotonic() - self.started
                stream.write(f"bayescale: {self.label} still working ({elapsed:.0f} s)\n")
                stream.flush()

    def watch(self) -> None:
        """The watcher thread: act on signals at once; beat every :data:`HEARTBEAT_S`."""
        next_beat = self.started + HEARTBEAT_S
        while True:
            timeout = max(0.05, next_beat - time.monotonic())
            ready, _, _ = select.select([self.read, self.stop_read], [], [], timeout)
            if self.stop_read in ready:
                return
            if self.read in ready:
                with contextlib.suppress(OSError):
                    data = self.read.recv(64)
                    for signum in data:
                        if signum in SIGNALS:
                            self.interrupted(signum)
                            return
            if time.monotonic() >= next_beat:
                self.heartbeat()
                next_beat = time.monotonic() + HEARTBEAT_S


def outputs_of(args: argparse.Namespace) -> list[str]:
    """The output paths a command writes (its ``--out``), for cleanup on a signal."""
    out = getattr(args, "out", None)
    return [out] if out else []


def run_command(args: argparse.Namespace, debug: bool = False) -> int:
    """Run a parsed command; returns its exit code (see the module docstring).

    Parameters
    ----------
    args
        Parsed arguments with ``func`` and ``command`` set.
    debug
        Raise instead of printing one line.

    Returns
    -------
    int
        0 success, 2 bad input, 1 internal error, 130/143 interrupted.
    """
    try:
        with Guard(outputs_of(args), label=args.command):
            check_backend()
            return args.func(args)
    except (ValueError, KeyError) as err:  # DataError, UsageError, OutputError, ResourceError
        if debug:
            raise
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"bayescale: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `bayescale laws | head`
        return 0
    except KeyboardInterrupt:  # a SIGINT outside a Guard (a command run in another thread)
        if debug:
            raise
        print("bayescale: interrupted by SIGINT", file=sys.stderr)
        return 128 + signal.SIGINT
    except Exception as err:  # noqa: BLE001 - one line unless --debug
        if debug:
            raise
        print(
            f"bayescale: internal error: {type(err).__name__}: {err} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
