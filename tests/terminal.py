"""A program run in a pseudo-terminal, typed at as a person would: the stdlib's pty, no pexpect."""

from __future__ import annotations

import codecs
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

CTRL_A = "\x01"
CTRL_C = "\x03"
CTRL_D = "\x04"
ENTER = "\r"
UP = "\x1b[A"


def ctrl_c_as_a_shell_leaves_it() -> None:
    """In a child before it runs: SIGINT at its default, as an interactive shell starts programs.

    A program started in the background by a shell without job control (`pytest ... &` in a
    script, as a CI runner may) inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt: the tests of Ctrl-C would fail for a reason of the runner's.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _take_the_terminal() -> None:
    # In the child, after setsid(): the pty on stdin becomes its controlling terminal, so the
    # terminal's Ctrl-C (a SIGINT to the foreground process group) reaches it as a shell's would.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    ctrl_c_as_a_shell_leaves_it()


class Terminal:
    """A program whose stdin, stdout and stderr are one pseudo-terminal of rows x columns."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None = None,
        rows: int = 24,
        columns: int = 80,
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.process = subprocess.Popen(
            list(args),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm"},
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_take_the_terminal,
        )
        os.close(slave)
        self._master = master
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.output = ""  # everything the program wrote, as the terminal got it
        self._seen = 0

    def send(self, keys: str) -> None:
        """Type keys (control characters included) as a keyboard would."""
        os.write(self._master, keys.encode())

    def expect(self, text: str, timeout: float = 60) -> str:
        """Wait for `text` after what earlier calls matched; return what came before it."""
        deadline = time.monotonic() + timeout
        while (found := self.output.find(text, self._seen)) < 0:
            if not self._read(deadline - time.monotonic()):
                raise AssertionError(
                    f"{text!r} did not appear; after the last match the terminal showed:\n"
                    f"{self.output[self._seen :]!r}"
                )
        before = self.output[self._seen : found]
        self._seen = found + len(text)
        return before

    def wait(self, timeout: float = 30) -> int:
        """Read until the program ends (or the timeout passes): its exit code."""
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            pass
        return self.process.wait(max(deadline - time.monotonic(), 0.1))

    def close(self) -> None:
        """Kill the program if it still runs and release the terminal."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self._master)

    def _read(self, timeout: float) -> bool:
        """Read what is there within the timeout; False at the end, or when nothing came."""
        if timeout <= 0:
            return False
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # EIO: every process holding the terminal has closed it
            return False
        self.output += self._decoder.decode(chunk)
        return bool(chunk)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
