"""Local I/O layer: a Kubernetes node's container log files, written the way its container runtime writes them.

Where: the kubelet links each container's log as `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`
(kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go `logSymlink`, with `BuildPodFullName` =
`<pod>_<namespace>`; the name, `.log` included, is cut to 255 bytes for ext4).

What, in one of two formats:

- CRI, as containerd writes it (containerd pkg/cri/io/logger.go `redirectLogs`): one record per line,
  `<time> <stream> <tag> <content>\\n` — time as Go's `time.RFC3339Nano` (nanoseconds, trailing zeros dropped),
  stream `stdout` or `stderr`, tag `F` for a full line; a line longer than `max_container_log_line_size`
  (16 KiB by default, pkg/cri/config/config_unix.go) is cut into `P` (partial) records and the last part `F`.
- docker json-file, as dockerd writes it (moby daemon/logger/jsonfilelog/jsonfilelog.go `marshalMessage`,
  jsonlog/jsonlogbytes.go, jsonlog/time_marshalling.go): `{"log":"<content>\\n","stream":"stdout",
  "time":"<RFC3339Nano, UTC>"}\\n`; the daemon's copier (daemon/logger/copier.go, bufSize 16 KiB) cuts longer
  lines and only the last part ends in `\\n`. Strings are escaped by moby's own encoder: `<`, `>`, `&` and
  control characters as `\\u00XX` (tab too), `\\n`, `\\r`, `\\\\`, `\\"`; U+2028/U+2029 escaped; invalid UTF-8
  as U+FFFD.

Filebeat's `container` input reads both (beats libbeat/reader/readjson/docker_json.go). The demo uses
`ContainerLog.redirect` to turn the sample service's stdout/stderr into its node log file, as containerd
would, and the Filebeat tests lay out a node's log directory with the same writers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Literal

KUBELET_LOG_DIR = "/var/log/containers"
"""Where the kubelet links container logs on a node (and where the rendered Filebeat looks)."""
MAX_LINE_BYTES = 16 * 1024
"""containerd's max_container_log_line_size default and dockerd's copier buffer: longer lines are split."""
_EXT4_MAX_NAME = 255

Stream = Literal["stdout", "stderr"]
LogFormat = Literal["cri", "docker"]


def container_log_name(pod: str, namespace: str, container: str, container_id: str) -> str:
    """The kubelet's file name for a container's log (kuberuntime_container.go `logSymlink`)."""
    name = f"{pod}_{namespace}_{container}-{container_id}"
    return name[: _EXT4_MAX_NAME - len(".log")] + ".log"


def go_rfc3339nano(unix_ns: int) -> str:
    """A UTC instant formatted like Go's time.RFC3339Nano: the fraction without trailing zeros (none if 0)."""
    seconds, nanos = divmod(unix_ns, 1_000_000_000)
    fraction = f"{nanos:09d}".rstrip("0")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + (f".{fraction}" if fraction else "") + "Z"


def _chunks(line: bytes, max_len: int) -> list[bytes]:
    if not line:
        return [b""]
    return [line[i : i + max_len] for i in range(0, len(line), max_len)]


def cri_records(stream: Stream, line: bytes, unix_ns: int, max_len: int = MAX_LINE_BYTES, *,
                complete: bool = True) -> bytes:  # fmt: skip
    """The CRI records containerd writes for one line of output (`line` without its newline); `complete`
    False for output that ended without a newline (the process exited mid-line): its last part is `P` too."""
    parts = _chunks(line, max_len)
    head = go_rfc3339nano(unix_ns).encode() + b" " + stream.encode() + b" "
    last = b"F " if complete else b"P "
    return b"".join(head + (last if i == len(parts) - 1 else b"P ") + part + b"\n" for i, part in enumerate(parts))


_HEX = "0123456789abcdef"


def _moby_json_string(data: bytes) -> str:
    """moby's ffjsonWriteJSONBytesAsString (jsonlog/jsonlogbytes.go)."""
    out = ['"']
    # surrogateescape turns each byte that is not UTF-8 into one lone surrogate, as Go's DecodeRune yields
    # RuneError of size 1 for it: moby writes the escape \ufffd for each
    for char in data.decode("utf-8", errors="surrogateescape"):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append("\\ufffd")
            continue
        if code < 0x80:
            if code >= 0x20 and char not in '\\"<>&':
                out.append(char)
            elif char in '\\"':
                out.append("\\" + char)
            elif char == "\n":
                out.append("\\n")
            elif char == "\r":
                out.append("\\r")
            else:
                out.append("\\u00" + _HEX[code >> 4] + _HEX[code & 0xF])
        elif char in "\u2028\u2029":
            out.append("\\u202" + _HEX[code & 0xF])
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def docker_json_records(stream: Stream, line: bytes, unix_ns: int, max_len: int = MAX_LINE_BYTES, *,
                        complete: bool = True) -> bytes:  # fmt: skip
    """The json-file records dockerd writes for one line of output (`line` without its newline); `complete`
    False for output that ended without a newline: no part ends in `\\n`."""
    parts = _chunks(line, max_len)
    stamp = go_rfc3339nano(unix_ns)
    records = []
    for i, part in enumerate(parts):
        content = part + b"\n" if complete and i == len(parts) - 1 else part
        log = f'"log":{_moby_json_string(content)},' if content else ""
        records.append(f'{{{log}"stream":"{stream}","time":"{stamp}"}}\n'.encode())
    return b"".join(records)


class ContainerLog:
    """One container's log file on a node: `write` appends records as the runtime would (thread-safe)."""

    def __init__(self, path: Path, log_format: LogFormat = "cri", max_len: int = MAX_LINE_BYTES) -> None:
        self.path = path
        self.format: LogFormat = log_format
        self.max_len = max_len
        self.lines = 0
        """Lines of output written so far (a line split into parts counts once)."""
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def records(self, stream: Stream, line: bytes, unix_ns: int | None = None, complete: bool = True) -> bytes:
        stamp = time.time_ns() if unix_ns is None else unix_ns
        encode = cri_records if self.format == "cri" else docker_json_records
        return encode(stream, line, stamp, self.max_len, complete=complete)

    def write(self, stream: Stream, lines: Iterable[bytes], unix_ns: int | None = None) -> None:
        """Append the records of `lines` (each without its newline) in one write."""
        batch = list(lines)
        data = b"".join(self.records(stream, line, unix_ns) for line in batch)
        with self._lock, self.path.open("ab") as f:
            f.write(data)
            self.lines += len(batch)

    def redirect(self, stream: Stream, pipe: IO[bytes]) -> None:
        """Copy a process's stdout or stderr into this file line by line until EOF, on a daemon thread
        (containerd's redirectLogs: a last line without a newline is written as a partial record)."""

        def copy() -> None:
            with pipe:
                for raw in iter(pipe.readline, b""):
                    complete = raw.endswith(b"\n")
                    line = raw.removesuffix(b"\n").removesuffix(b"\r") if complete else raw  # readLine drops \r\n
                    record = self.records(stream, line, complete=complete)
                    with self._lock, self.path.open("ab") as f:
                        f.write(record)
                        self.lines += 1

        thread = threading.Thread(target=copy, name=f"container-log-{stream}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def join(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for the redirect threads: they end when the process closes its pipes."""
        for thread in self._threads:
            thread.join(timeout)
