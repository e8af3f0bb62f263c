"""Socket methods that work through files: ``makefile()`` and ``sendfile()``.

Both are built on the socket's own calls (``recv_into``, ``send``, ``sendall``),
as in Python's socket module, which also builds them in Python.
"""

from __future__ import annotations

import io
import socket as _pysocket
from typing import Any


class FileMethods:
    """makefile() and sendfile(), mixed into Socket."""

    __slots__ = ()

    def makefile(self, mode: str = "r", buffering: int | None = None, *, encoding: str | None = None,
                 errors: str | None = None, newline: str | None = None) -> Any:
        """A file object reading and writing this socket, as ``socket.socket.makefile``."""
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        raw = _pysocket.SocketIO(self, ("r" if reading else "") + ("w" if writing else ""))
        self._io_refs += 1
        if buffering is None or buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        if reading and writing:
            buffer: Any = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if "b" in mode:
            return buffer
        text = io.TextIOWrapper(buffer, encoding, errors, newline)
        text.mode = mode
        return text

    def _decref_socketios(self) -> None:
        """A file from makefile() was closed (socket.SocketIO calls this)."""
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._close_when_files_close and self._io_refs == 0:
            self.close()

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """Send a binary file's contents from ``offset`` (``count`` octets, or to its end);
        leaves the file positioned after what was sent, as ``socket.socket.sendfile``."""
        self._check_open()
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if count is not None:
            if not isinstance(count, int):
                raise TypeError(f"count must be a positive integer (got {count!r})")
            if count <= 0:
                raise ValueError(f"count must be a positive integer (got {count!r})")
        if self._timeout == 0:
            raise ValueError("non-blocking sockets are not supported")
        if offset:
            file.seek(offset)
        total = 0
        try:
            while count is None or total < count:
                block = file.read(8192 if count is None else min(8192, count - total))
                if not block:
                    break
                self.sendall(block)
                total += len(block)
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)
        return total
