"""The rendered multiline pattern, compiled by Go's regexp (the engine Filebeat uses), on a real Go panic.

A small Go program panics in a nested call inside a goroutine — the real runtime output — and then
groups log lines the way Filebeat's `multiline.negate: false` / `multiline.match: after` does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from observability.local import parts
from observability.render import filebeat as fb
from observability.render.yamlfmt import dump_yaml

pytestmark = pytest.mark.integration

PROGRAM = r"""
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strings"
)

type order struct{ items []int }

func (o *order) total(i int) int { return o.items[i] }

func handle(o *order, done chan int) { done <- o.total(5) }

func main() {
	if os.Args[1] == "panic" {
		done := make(chan int)
		go handle(&order{items: []int{1, 2, 3}}, done)
		<-done
		return
	}
	pattern := regexp.MustCompile(os.Args[2])
	var events []string
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		line := scanner.Text()
		if len(events) > 0 && pattern.MatchString(line) {
			events[len(events)-1] += "\n" + line
		} else {
			events = append(events, line)
		}
	}
	out, _ := json.Marshal(events)
	os.Stdout.WriteString(strings.TrimSpace(string(out)))
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go toolchain not installed (make system-deps installs golang-go)")
    src = tmp_path_factory.mktemp("multiline")
    (src / "main.go").write_text(PROGRAM)
    (src / "go.mod").write_text("module multiline\n\ngo 1.22\n")  # standard library only: nothing to download
    cache = parts.cache_root()
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly", "GOPROXY": "off",
           "GOMODCACHE": str(cache / "go-mod"), "GOCACHE": str(cache / "go-build")}
    subprocess.run(
        [go, "build", "-o", "multiline", "."], cwd=src, env=env, check=True, capture_output=True, timeout=300
    )
    return src / "multiline"


def rendered_pattern() -> str:
    """The pattern exactly as filebeat.yml carries it (after a YAML round trip)."""
    return str(yaml.safe_load(dump_yaml(fb.multiline()))["multiline.pattern"])


def test_a_real_go_panic_becomes_one_event(program: Path) -> None:
    crashed = subprocess.run([str(program), "panic"], capture_output=True, text=True, timeout=30)
    assert crashed.returncode == 2
    panic = crashed.stderr.rstrip("\n")
    assert panic.startswith("panic: runtime error: index out of range [5] with length 3")
    assert "goroutine " in panic and "main.handle(" in panic and "created by main.main" in panic
    json_line = '{"level":"error","msg":"payment failed","trace_id":"4bf92f3577b34da6"}'
    stdin = "\n".join([json_line, panic, json_line, json_line]) + "\n"
    grouped = subprocess.run(
        [str(program), "group", rendered_pattern()], input=stdin, capture_output=True, text=True, timeout=30
    )
    assert grouped.returncode == 0, grouped.stderr
    assert json.loads(grouped.stdout) == [json_line, panic, json_line, json_line]
