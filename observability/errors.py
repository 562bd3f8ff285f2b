"""The one root error of the project and its per-layer subclasses.

Every layer raises a subclass of ObservabilityError with a message a user can act on (what, where,
expected, how to fix). The CLI catches the root type in one place and prints `ERROR: <message>`.
Third-party exceptions are translated at the boundary where they occur (`raise X(...) from e`).
"""

from __future__ import annotations

import errno
import socket
import ssl
from pathlib import Path


class ObservabilityError(Exception):
    """Root of every error this tool reports to a user."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class SpecError(ObservabilityError):
    """The stack spec (stack.yaml) cannot be read or is invalid; carries every problem found."""

    def __init__(self, problems: list[str], *, source: str = "stack.yaml") -> None:
        self.problems = problems
        self.source = source
        count = len(problems)
        head = f"{source}: {count} problem{'s' if count != 1 else ''}"
        super().__init__(head + "\n" + "\n".join(f"  {p}" for p in problems))


class RenderError(ObservabilityError):
    """A valid spec could not be rendered (e.g. a referenced rule or dashboard file is broken)."""


class CheckError(ObservabilityError):
    """Linting or validation of rendered artefacts could not run (not: found problems)."""


class ClusterError(ObservabilityError):
    """Talking to the Kubernetes API failed; the message names the object, verb and fix."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ToolMissingError(ObservabilityError):
    """An external program (promtool, amtool, prometheus, go) is not installed."""


class RemoteError(ObservabilityError):
    """An HTTP service (Grafana, Prometheus, Alertmanager, Elasticsearch, Kibana) answered with an error."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class PipelineError(ObservabilityError):
    """The log processor cannot start or run (bad config, unreachable Kafka at start)."""


class FileError(ObservabilityError):
    """A file or directory the user named (or that has a default) cannot be read or written."""

    @classmethod
    def from_os_error(
        cls, e: OSError | UnicodeDecodeError, path: str | Path, *, doing: str, flag: str | None = None
    ) -> FileError:
        """`doing` completes "cannot …" (e.g. "write the starter spec", "read the rule file")."""
        where = f"{flag} {path}" if flag else str(path)
        if isinstance(e, UnicodeDecodeError):
            return cls(
                f"{where}: cannot {doing}: not UTF-8 text "
                f"(byte {e.start} is 0x{e.object[e.start]:02x}; a binary file?)",
                hint="only UTF-8 text files belong there; move the file out of the directory",
            )
        reason, hint = _OS_REASONS.get(e.errno or 0, ((e.strerror or str(e)).lower(), None))
        if e.errno == errno.ENOENT and doing.startswith(("write", "create")):
            parent = Path(path).parent
            reason = f"directory {parent} does not exist"
            hint = f"create it first (mkdir -p {parent}) or give another path"
        return cls(f"{where}: cannot {doing}: {reason}", hint=hint)


_OS_REASONS: dict[int, tuple[str, str | None]] = {
    errno.ENOENT: ("no such file or directory", "check the path"),
    errno.ENOTDIR: ("a part of the path is a file, not a directory", "give a path whose parents are directories"),
    errno.EISDIR: ("it is a directory, a file is expected here", "give the path of a file"),
    errno.EEXIST: ("a file of that name exists where a directory is expected", "give a directory path"),
    errno.EACCES: ("permission denied", "give a path you may use, or fix its permissions"),
    errno.EPERM: ("operation not permitted", "give a path you may use, or fix its permissions"),
    errno.EROFS: ("the file system is read-only", "give a path on a writable file system"),
    errno.ENOSPC: ("no space left on the device", "free some space or give a path on another disk"),
    errno.ENAMETOOLONG: ("the file name is too long", "give a shorter path"),
}


def connection_failure(e: BaseException) -> str:
    """Why a connection failed, in words, from the OS-level cause a client library wrapped.

    requests, niquests, urllib3, elastic-transport and the kubernetes client wrap the socket error in two to
    four layers whose text is a repr ("HTTPConnectionPool(host=...) ... <urllib3.connection... at 0x...>");
    a user needs the bottom of that chain, said plainly.
    """
    chain = _causes(e)
    names = {type(c).__name__ for c in chain}
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return "connection refused (nothing listens on that host and port)"
    if any(isinstance(c, socket.gaierror) for c in chain) or "NameResolutionError" in names:
        return "the host name does not resolve"
    for c in chain:
        if isinstance(c, ssl.SSLCertVerificationError):
            return f"its TLS certificate is not trusted ({c.verify_message})"
        if isinstance(c, ssl.SSLError):
            return f"the TLS handshake failed ({c.reason or c})"
    if any(isinstance(c, TimeoutError) or "Timeout" in type(c).__name__ for c in chain):
        return "no answer in time (timed out)"
    if any(isinstance(c, ConnectionResetError) for c in chain):
        return "the connection was reset by the other side"
    if names & {"InvalidSchema", "MissingSchema", "InvalidURL", "URLSchemeUnknown", "LocationParseError"}:
        return "that is not an http(s) URL; write it as http://host:port"
    for c in chain:
        if isinstance(c, OSError) and c.strerror:
            return c.strerror[:1].lower() + c.strerror[1:]
    return f"the connection failed ({type(e).__name__})"


def _causes(e: BaseException) -> list[BaseException]:
    """e and every exception it wraps (urllib3 `.reason`, `raise from`, exceptions passed as arguments)."""
    found: list[BaseException] = []
    todo = [e]
    while todo:
        current = todo.pop(0)
        if any(current is f for f in found):
            continue
        found.append(current)
        wrapped = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        todo += [w for w in wrapped if isinstance(w, BaseException)]
    return found
