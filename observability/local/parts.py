"""Local I/O layer: the real programs that the tests and the demo run, built from pinned recipes in tools/.

Every part has one directory `tools/<name>/` with a `part.toml` and its pinned recipe in the ordinary form of
its ecosystem: go.mod/go.sum for Go programs, a pom.xml for Java jars, a build script for what neither fits
(kube-apiserver v1.20 from Debian's source package). Nothing built is committed. A build lands in
`~/.cache/observability/parts/<name>/<version>-<recipe hash>/` (`OBS_PARTS_HOME` moves the root), so an
edited recipe rebuilds and an unchanged one is reused; a lock file keeps two builds of one part apart.

part.toml keys (all but name, version, kind optional):
    name, version            shown in `make tools`; version is the upstream release
    kind                     "go" | "maven" | "script"
    source                   recipe directory relative to the repository (default: tools/<name>)
    binaries                 {binary name = Go package} for kind "go"; names produced by build.sh for "script"
    ldflags, tags            for `go build`; "{version}" in ldflags is replaced by the version
    cgo                      true to build with cgo (default false)
    needs                    commands that must be on PATH (or absolute paths) first, e.g. ["java", "mvn"]
    note                     one line printed with the status, e.g. what differs from the release users run

A build's output goes to its log beside the build; the lines a build.sh prints starting with `step: ` are
also shown by `make tools`, so a long build says where it is.

`python -m observability.local.parts [build|status] [NAME…]` prints one line per part:
`<name> <version> <path> ok|missing (<why>)`; build exits 1 when a requested part could not be built.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from observability.errors import ToolMissingError

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "tools"
_MARKER = ".built"
_BUILD_TIMEOUT_S = 3600.0
_STEP_PREFIX = "step: "


def cache_root() -> Path:
    """Where builds and the Go/Maven download caches live (OBS_PARTS_HOME, else ~/.cache/observability)."""
    configured = os.environ.get("OBS_PARTS_HOME")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "observability"


@dataclass(frozen=True)
class Part:
    """One real program (or jar set) the project builds from a pinned recipe."""

    name: str
    version: str
    kind: str
    source: Path
    """The recipe directory (go.mod/pom.xml/build.sh live here)."""
    binaries: dict[str, str] = field(default_factory=dict)
    ldflags: str = ""
    tags: tuple[str, ...] = ()
    cgo: bool = False
    needs: tuple[str, ...] = ()
    note: str = ""

    @property
    def key(self) -> str:
        """version-<hash of every recipe file>: changes whenever the recipe does."""
        digest = hashlib.sha256()
        for path in sorted(p for p in self.source.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(self.source)).encode() + b"\0" + path.read_bytes() + b"\0")
        return f"{self.version}-{digest.hexdigest()[:12]}"

    @property
    def home(self) -> Path:
        return cache_root() / "parts" / self.name / self.key

    def built(self) -> bool:
        return (self.home / _MARKER).is_file()

    def path(self, binary: str | None = None) -> Path:
        """The built binary (default: the first one), or for a maven part its directory of jars."""
        if self.kind == "maven":
            return self.home / "libs"
        name = binary or next(iter(self.binaries), self.name)
        return self.home / "bin" / name


def _load(toml_path: Path) -> Part:
    raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    source = REPO / raw["source"] if "source" in raw else toml_path.parent
    binaries = raw.get("binaries", {})
    if isinstance(binaries, list):
        binaries = {b: "" for b in binaries}
    return Part(
        name=raw["name"],
        version=str(raw["version"]),
        kind=raw["kind"],
        source=source,
        binaries=dict(binaries),
        ldflags=raw.get("ldflags", ""),
        tags=tuple(raw.get("tags", ())),
        cgo=bool(raw.get("cgo", False)),
        needs=tuple(raw.get("needs", ())),
        note=raw.get("note", ""),
    )


def all_parts() -> list[Part]:
    """Every part with a tools/<name>/part.toml, in name order (empty outside a checkout)."""
    return [_load(p) for p in sorted(RECIPES.glob("*/part.toml"))]


def get_part(name: str) -> Part:
    for part in all_parts():
        if part.name == name:
            return part
    raise ToolMissingError(
        f"no real part named {name!r} (known: {', '.join(p.name for p in all_parts()) or 'none'})",
        hint=f"parts are described by {RECIPES}/<name>/part.toml in a checkout of the project",
    )


def require(name: str, binary: str | None = None) -> Path:
    """Path of a built part (binary or jar directory), or ToolMissingError naming the command that builds it."""
    part = get_part(name)
    if not part.built():
        raise ToolMissingError(
            f"{part.name} {part.version} is not built (looked in {part.home})",
            hint=f"run `make tools PARTS={part.name}` (or `make tools` for every real part)",
        )
    return part.path(binary)


def missing_reason(part: Part) -> str | None:
    """Why a part cannot be built on this machine right now, or None."""
    for command in part.needs:
        if shutil.which(command) is None:
            return f"{command} is not on PATH"
    if part.kind == "go" and shutil.which("go") is None:
        return "go is not on PATH"
    return None


def _go_env(part: Part) -> dict[str, str]:
    root = cache_root()
    return {
        **os.environ,
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=readonly",
        "GOMODCACHE": str(root / "go-mod"),
        "GOCACHE": str(root / "go-build"),
        "CGO_ENABLED": "1" if part.cgo else "0",
    }


def _commands(part: Part, out: Path) -> list[tuple[list[str], dict[str, str]]]:
    if part.kind == "go":
        env = _go_env(part)
        ldflags = part.ldflags.replace("{version}", part.version)
        commands = []
        for binary, package in part.binaries.items():
            argv = ["go", "build", "-trimpath", "-o", str(out / "bin" / binary)]
            if ldflags:
                argv += ["-ldflags", ldflags]
            if part.tags:
                argv += ["-tags", ",".join(part.tags)]
            commands.append(([*argv, package or "."], env))
        return commands
    if part.kind == "maven":
        repo = cache_root() / "m2"
        argv = [
            "mvn", "-q", "-B", f"-Dmaven.repo.local={repo}", "-f", str(part.source / "pom.xml"),
            "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={out / 'libs'}",
        ]  # fmt: skip
        return [(argv, dict(os.environ))]
    if part.kind == "script":
        env = {**os.environ, "PART_VERSION": part.version, "PART_CACHE": str(cache_root())}
        return [(["bash", str(part.source / "build.sh"), str(out)], env)]
    raise ToolMissingError(f"{part.source / 'part.toml'}: kind must be go, maven or script, got {part.kind!r}")


@contextlib.contextmanager
def _locked(part: Part) -> Iterator[None]:
    lock_path = cache_root() / "parts" / f"{part.name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _run_logged(argv: list[str], part: Part, env: dict[str, str], log: TextIO, say: Callable[[str], None]) -> int:
    """Run one build command with its output in the log; lines it starts with `step: ` are also said.

    A build longer than _BUILD_TIMEOUT_S is killed (exit code -9): a hung download must not hang `make tools`.
    """
    process = subprocess.Popen(
        argv, cwd=part.source, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    timer = threading.Timer(_BUILD_TIMEOUT_S, process.kill)
    timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            log.flush()
            if line.startswith(_STEP_PREFIX):
                say(f"  {part.name}: {line[len(_STEP_PREFIX) :].rstrip()}")
        return process.wait()
    finally:
        timer.cancel()


def build(part: Part, say: Callable[[str], None] = lambda _: None) -> Path:
    """Build the part unless this recipe is built already; returns part.path(). ToolMissingError on failure."""
    if part.built():
        return part.path()
    reason = missing_reason(part)
    if reason:
        raise ToolMissingError(f"{part.name} {part.version} cannot be built: {reason}")
    with _locked(part):
        if part.built():  # another process built it while we waited for the lock
            return part.path()
        tmp = part.home.with_name(part.home.name + f".tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "bin").mkdir(parents=True)
        log_path = part.home.parent / f"{part.key}.log"
        with log_path.open("w", encoding="utf-8") as log:
            for argv, env in _commands(part, tmp):
                say(f"  {part.name}: {' '.join(argv[:6])}{' …' if len(argv) > 6 else ''}")
                log.write("$ " + " ".join(argv) + "\n")
                log.flush()
                returncode = _run_logged(argv, part, env, log, say)
                if returncode != 0:
                    shutil.rmtree(tmp, ignore_errors=True)
                    tail = log_path.read_text(encoding="utf-8", errors="replace")[-1500:]
                    raise ToolMissingError(
                        f"building {part.name} {part.version} failed (exit {returncode}); log {log_path}:\n{tail}"
                    )
        (tmp / _MARKER).write_text(part.key + "\n", encoding="utf-8")
        shutil.rmtree(part.home, ignore_errors=True)
        tmp.rename(part.home)
    return part.path()


def status_line(part: Part, why: str | None = None) -> str:
    if part.built() and why is None:
        line = f"{part.name} {part.version} {part.path()} ok"
    else:
        line = f"{part.name} {part.version} {part.path()} missing ({why or missing_reason(part) or 'not built'})"
    return line + (f"  # {part.note}" if part.note else "")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command not in ("build", "status"):
        print("usage: python -m observability.local.parts [build|status] [NAME…]", file=sys.stderr)
        return 2
    wanted = set(argv[1:])
    parts = [p for p in all_parts() if not wanted or p.name in wanted]
    unknown = wanted - {p.name for p in parts}
    if unknown:
        print(f"ERROR: no part named {', '.join(sorted(unknown))}; see {RECIPES}/*/part.toml", file=sys.stderr)
        return 2
    failed = 0
    for part in parts:
        why: str | None = None
        if command == "build" and not part.built():
            started = time.monotonic()
            print(f"tools: building {part.name} {part.version} (first time only; cached in {part.home})", flush=True)
            try:
                build(part, say=lambda line: print(line, flush=True))
                print(f"tools: {part.name} built in {time.monotonic() - started:.0f} s", flush=True)
            except ToolMissingError as e:
                why = str(e).splitlines()[0]
                print(f"tools: {e}", file=sys.stderr, flush=True)
                failed += 1
        print(status_line(part, why), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
