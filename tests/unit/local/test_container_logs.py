"""Unit tests: the node log writers (observability/local/container_logs.py) write what containerd and dockerd write.

Expected records are real ones: CRI and json-file lines from the processor's corpus (tests/unit/pipeline/corpus/
wrappers.toml, each with its public source) and moby's own expectations for its encoder
(moby/moby daemon/logger/jsonfilelog/jsonlog/jsonlogbytes_test.go@035604cca6d6 TestJSONLogsMarshalJSONBuf).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from observability.local.container_logs import (
    ContainerLog,
    container_log_name,
    cri_records,
    docker_json_records,
    go_rfc3339nano,
)


def ns(stamp: str) -> int:
    """Unix nanoseconds of an RFC 3339 UTC time with up to 9 fraction digits."""
    whole, _, fraction = stamp.removesuffix("Z").partition(".")
    seconds = int(datetime.fromisoformat(whole + "+00:00").timestamp())
    return seconds * 1_000_000_000 + int(fraction.ljust(9, "0") or 0)


@pytest.mark.parametrize(
    "record",
    [
        # wrappers.toml, source index:54488316067 and index:63132021997 (fraction zeros trimmed, as Go's RFC3339Nano)
        "2024-01-15T10:30:45.123456789Z stdout F Hello world",
        '2026-08-10T09:14:22.13Z stdout F {"level":"info","msg":"request handled"}',
        # wrappers.toml, source index:1511855242
        "2025-04-24T19:34:00.747351493Z stdout F [KAFKA] Broker not available, retrying in 5s... (1/10)",
    ],
)
def test_cri_records_are_containerds(record: str) -> None:
    stamp, stream, _tag, line = record.split(" ", 3)
    assert cri_records(stream, line.encode(), ns(stamp)) == (record + "\n").encode()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "record"),
    [
        # wrappers.toml, source index:17178202811 (the program wrote "exit\r\n"; dockerd split at "\n")
        (b"exit\r", '{"log":"exit\\r\\n","stream":"stdout","time":"2020-02-08T14:35:22.509286061Z"}'),
        (b"\x1b]0;root@cd83bc3b0d3b: /\x07root@cd83bc3b0d3b:/# exit 13\r",
         '{"log":"\\u001b]0;root@cd83bc3b0d3b: /\\u0007root@cd83bc3b0d3b:/# exit 13\\r\\n","stream":"stdout",'
         '"time":"2020-02-08T14:35:22.509224333Z"}'),
    ],
)  # fmt: skip
def test_docker_json_records_are_dockerds(line: bytes, record: str) -> None:
    stamp = json.loads(record)["time"]
    assert docker_json_records("stdout", line, ns(stamp)) == (record + "\n").encode()


@pytest.mark.parametrize(
    ("line", "encoded"),
    [
        (b"A log line with & < >", "A log line with \\u0026 \\u003c \\u003e"),
        ("A log line with utf8 : 🚀 ψ ω β".encode(), "A log line with utf8 : 🚀 ψ ω β"),
        (b'"A log line with \\"', '\\"A log line with \\\\\\"'),
        ("\u2028 \u2029".encode(), "\\u2028 \\u2029"),
        (b"\xaf", "\\ufffd"),
        (b"\x7f", "\x7f"),
        (b"tab\there", "tab\\u0009here"),
    ],
)
def test_docker_json_strings_are_escaped_like_mobys_encoder(line: bytes, encoded: str) -> None:
    record = docker_json_records("stderr", line, ns("2017-09-01T01:01:01.000000001Z")).decode()
    assert record == f'{{"log":"{encoded}\\n","stream":"stderr","time":"2017-09-01T01:01:01.000000001Z"}}\n'


def test_go_rfc3339nano_drops_trailing_zeros_and_an_empty_fraction() -> None:
    assert go_rfc3339nano(ns("2017-09-01T01:01:01.000000001Z")) == "2017-09-01T01:01:01.000000001Z"
    assert go_rfc3339nano(ns("2026-11-23T04:37:22.120Z")) == "2026-11-23T04:37:22.12Z"
    assert go_rfc3339nano(0) == "1970-01-01T00:00:00Z"


def test_long_lines_are_cut_into_parts_as_the_runtimes_do() -> None:
    line = b"a" * 10 + b"b" * 10 + b"c" * 5
    cri = cri_records("stdout", line, 0, max_len=10).decode().splitlines()
    assert cri == ["1970-01-01T00:00:00Z stdout P " + "a" * 10, "1970-01-01T00:00:00Z stdout P " + "b" * 10,
                   "1970-01-01T00:00:00Z stdout F " + "c" * 5]  # fmt: skip
    docker = [json.loads(r)["log"] for r in docker_json_records("stdout", line, 0, max_len=10).splitlines()]
    assert docker == ["a" * 10, "b" * 10, "c" * 5 + "\n"]  # only the last part ends the line
    assert cri_records("stdout", b"", 0) == b"1970-01-01T00:00:00Z stdout F \n"


def test_file_names_are_the_kubelets() -> None:
    cid = "0" * 64
    assert container_log_name("web-7d9f8-x2x9z", "shop", "app", cid) == f"web-7d9f8-x2x9z_shop_app-{cid}.log"
    long = container_log_name("p" * 200, "ns", "c", cid)
    assert len(long) == 255 and long.endswith(".log")  # ext4's limit, `.log` included


def test_redirect_copies_a_process_output_as_containerd_does(tmp_path: Path) -> None:
    log = ContainerLog(tmp_path / "x.log")
    program = "import sys; print('one'); sys.stderr.write('two\\r\\n'); sys.stdout.write('three'); sys.stdout.flush()"
    process = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    log.redirect("stdout", process.stdout)
    log.redirect("stderr", process.stderr)
    process.wait(10)
    log.join()
    records = sorted(r.split(" ", 1)[1] for r in log.path.read_text().splitlines())
    # "\r\n" is dropped with the newline; output cut off without a newline is a partial record
    assert records == ["stderr F two", "stdout F one", "stdout P three"]
    assert log.lines == 3
