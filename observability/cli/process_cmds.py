"""CLI: `obs process` — run the log processor (Kafka → Elasticsearch) or its stages offline on a file.

  obs process --config processor.yaml           consume, parse, enrich, index (until SIGTERM)
  obs process --config processor.yaml --setup-only
                                                 create the index template and ILM policy, then exit
  obs process --input events.jsonl --output -   parse + enrich Filebeat event JSON lines, print documents
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import IO

import typer

from observability.cli import app
from observability.errors import FileError, PipelineError
from observability.pipeline.sink import Position
from observability.pipeline.transform import DEAD, DROPPED, Transformer, default_settings
from observability.spec.processor import DEFAULT_CONFIG_PATH, ENV_PREFIX, ProcessorConfig, parse_processor_config


def _read_config(path: Path) -> ProcessorConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(
            f"{path}: processor config not found",
            hint="pass --config, set $OBS_PROCESSOR_CONFIG, or run `obs render` to write processor/processor.yaml",
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise FileError.from_os_error(e, path, doing="read the processor config") from None
    return parse_processor_config(text, str(path), os.environ)


def _run_offline(transform: Transformer, source: IO[bytes], out: IO[bytes], err: IO[str]) -> tuple[int, int, int]:
    stored = dead = dropped = 0
    for lineno, line in enumerate(source, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        outcome = transform(raw, Position("input", 0, lineno))
        if outcome.kind == DEAD:
            dead += 1
            err.write(f"line {lineno}: dead-letter ({outcome.reason}): {outcome.detail}\n")
        elif outcome.kind == DROPPED:
            dropped += 1
            err.write(f"line {lineno}: dropped by rule {outcome.reason}\n")
        elif outcome.item is not None:
            stored += 1
            out.write(outcome.item.source + b"\n")
    return stored, dead, dropped


def _offline_input(input_: str) -> AbstractContextManager[IO[bytes]]:
    if input_ == "-":
        return nullcontext(sys.stdin.buffer)
    try:
        return open(input_, "rb")
    except OSError as e:  # missing, a directory, unreadable: named with the flag and the fix
        raise FileError.from_os_error(e, input_, doing="read the events", flag="--input") from None


@contextmanager
def _offline_output(output: str, input_: str) -> Iterator[IO[bytes]]:
    """Where offline documents go: stdout for '-', else the file (created or truncated)."""
    if output == "-":
        yield sys.stdout.buffer
        sys.stdout.flush()
        return
    target = Path(output)
    if input_ != "-" and target.exists() and Path(input_).exists() and target.samefile(input_):
        raise PipelineError(f"--output {output}: is the --input file; writing would destroy it before it is read")
    try:
        out = open(target, "wb")  # noqa: SIM115 (entered below, so an open failure is told apart from a write)
    except OSError as e:
        raise PipelineError(
            f"--output {output}: cannot write it: {e.strerror}", hint="give a writable file path"
        ) from None
    with out:
        yield out


@app.command()
def process(
    config: Path | None = typer.Option(
        None, "--config", "-c", help=f"processor.yaml (default: $OBS_PROCESSOR_CONFIG, then {DEFAULT_CONFIG_PATH})"
    ),
    input_: str | None = typer.Option(
        None, "--input", "-i", help="offline mode: a file of Filebeat event JSON lines, or - for stdin"
    ),
    output: str = typer.Option("-", "--output", "-o", help="offline mode: file the documents go to (- = stdout)"),
    setup_only: bool = typer.Option(False, "--setup-only", help="create the index template and ILM policy, exit"),
    store: Path | None = typer.Option(
        None, "--store", help="write to the embedded SQLite log store at this path instead of Elasticsearch (demo)"
    ),
) -> None:
    """Consume Filebeat events from Kafka into Elasticsearch, or transform a file offline (--input)."""
    if input_ is not None:
        transform = (
            Transformer.from_config(_read_config(config)) if config else Transformer(default_settings(), 10_000_000)
        )
        # The input is opened first: a missing input must not leave an empty output file behind.
        with _offline_input(input_) as source, _offline_output(output, input_) as out:
            counts = _run_offline(transform, source, out, sys.stderr)
        where = "" if output == "-" else f" written to {output}"
        typer.echo(f"{counts[0]} documents{where}, {counts[1]} dead-lettered, {counts[2]} dropped", err=True)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)  # one INFO line per _bulk is too loud
    path = config or Path(os.environ.get(f"{ENV_PREFIX}CONFIG", DEFAULT_CONFIG_PATH))
    settings = _read_config(path)
    if store is not None:
        from observability.pipeline.runner import run_processor
        from observability.pipeline.store_sqlite import SqliteLogStore

        sqlite_store = SqliteLogStore(store)
        sqlite_store.setup()
        run_processor(settings, None, sqlite_store)
        return
    from observability.apply.elasticsearch import connect_elasticsearch, ensure_log_templates

    client = connect_elasticsearch(settings.elasticsearch)
    if settings.elasticsearch.setup or setup_only:
        for line in ensure_log_templates(client, settings.elasticsearch):
            typer.echo(line, err=True)
    if setup_only:
        return
    from observability.pipeline.runner import run_processor

    run_processor(settings, client)
