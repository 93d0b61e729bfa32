"""The run loop, written once: the nightly flow gives it its Prefect tasks, the fallback plain functions.

A run discovers the inbox's files, receives the new ones, collects the pending
receipts, then for each batch: counts the attempt, reads and validates its shards,
merges them, loads the batch in one transaction (and describes it on a validation
page, when asked); then it publishes once, summarises, and sends the notices of what it rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from flows import datadocs
from flows.batches import Pending, Prepared, merge_prepared
from schemas.shapes import Decision, Receipt
from transforms.decisions import after_load
from transforms.findings import empty_findings, with_errors

if TYPE_CHECKING:  # the steps call the loop, not the other way round
    from rich.progress import Progress

    from flows.batches import Discovery, Received, RunSummary


@dataclass(frozen=True)
class RunSteps:
    """What the run loop calls, in this order."""

    discover: Callable[[], Discovery]
    receive: Callable[[Discovery], Received]  # mends an unfinished publication, archives new files, gives receipts
    collect: Callable[[], Pending]
    begin_batch: Callable[[Pending], None]
    prepare_shards: Callable[[Pending, list[list[Receipt]]], Iterable[Prepared]]  # one result a shard, in order
    load: Callable[[Prepared], pl.DataFrame]  # the findings recorded
    publish: Callable[[], object]
    summarise: Callable[[list[Decision], pl.DataFrame, Discovery, Received, Path | None], RunSummary]
    notify: Callable[[], str] | None = (
        None  # the notices of the submissions rejected (noted by the loads); says what it did
    )
    # the attempt begin_batch counted, taken back when the run is stopped (SIGTERM, Ctrl-C), not killed: the
    # batch's files did not stop it, so the next run handles them as if this one had not begun them
    forget_attempt: Callable[[Pending], None] | None = None


def run_batches(
    steps: RunSteps, shards: int, started: datetime, validation_pages: Path | None, progress: Progress
) -> RunSummary:
    """One run: every pending receipt prepared and loaded batch by batch, then published and summarised.

    Each batch's originals are cut into at most `shards` shards, prepared apart (on
    other workers, if the steps send them there). With `validation_pages`, a folder,
    each batch validated gets a page there, named after the run's start, `started`.
    """
    discovery = steps.discover()
    received = steps.receive(discovery)
    pending = steps.collect()
    decisions, findings, validations = list(pending.settled), [pending.settled_findings], []
    batches = pending.batches(shards)
    reading = progress.add_task("reading and validating", total=sum(len(b.originals()) for b in batches))
    loading = progress.add_task("loading", total=sum(len(b.receipts) for b in batches))
    for batch in batches:
        batch.remember_reporters(decisions)
        steps.begin_batch(batch)
        try:
            batch_shards = batch.original_shards(shards)
            prepared_shards = []
            for shard, prepared_shard in zip(batch_shards, steps.prepare_shards(batch, batch_shards), strict=True):
                prepared_shards.append(prepared_shard)
                progress.advance(reading, len(shard))
            prepared = merge_prepared(batch, prepared_shards)
            findings.append(steps.load(prepared))
        except (SystemExit, KeyboardInterrupt):  # stopped, not killed: no file of the batch stopped the run
            if steps.forget_attempt is not None:
                steps.forget_attempt(batch)
            raise
        prepared.decisions = after_load(prepared.decisions, with_errors(findings[-1]))  # the load may reject
        progress.advance(loading, len(batch.receipts))
        decisions += prepared.decisions
        if validation_pages is not None:
            validations.append(datadocs.validation(prepared, findings[-1]))
    steps.publish()
    docs, docs_failed = None, None
    if validation_pages is not None:
        try:  # a view of what is loaded: a folder it cannot write fails no run, whose batches are committed
            docs = datadocs.write_site(validation_pages, started, validations)
        except OSError as problem:
            docs_failed = f"{type(problem).__name__}: {problem}"
    summary = steps.summarise(
        decisions, pl.concat([empty_findings(), *findings], how="vertical_relaxed"), discovery, received, docs
    )
    summary.docs_failed = docs_failed
    if steps.notify is not None:
        summary.notices = steps.notify()
    return summary
