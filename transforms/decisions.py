"""What becomes of each receipt, decided in one place: loaded, rejected or duplicate.

A submission's original is its first receipt not set aside; later receipts of the
same bytes are its duplicates. An original is rejected when its submission has an
error finding (or ctip failed on it: then it is also set aside), and loaded otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from schemas.shapes import DUPLICATE, LOADED, REJECTED, Decision, Receipt


def is_original(receipt: Receipt, original_sequences: Mapping[str, int]) -> bool:
    """Whether `receipt` is its submission's original, given the sequence of each submission's original;
    a receipt whose submission has no recorded original is its own."""
    return original_sequences.get(receipt.submission_id, receipt.sequence) == receipt.sequence


def decide(
    receipts: list[Receipt],
    original_sequences: Mapping[str, int],
    rejected: Collection[str] = (),
    set_aside: Collection[str] = (),
    reporters: Mapping[str, str | None] | None = None,
) -> list[Decision]:
    """The decision on each receipt, in order.

    `rejected` holds the submissions with an error finding, `set_aside` those of them
    ctip itself failed on, `reporters` the reporter of each submission known so far
    (a duplicate is named after its original's).
    """
    reporters = reporters or {}
    decisions = []
    for receipt in receipts:
        submission_id = receipt.submission_id
        if not is_original(receipt, original_sequences):
            status = DUPLICATE
        else:
            status = REJECTED if submission_id in rejected or submission_id in set_aside else LOADED
        decisions.append(
            Decision(
                receipt,
                status,
                reporters.get(submission_id),
                set_aside=status == REJECTED and submission_id in set_aside,
            )
        )
    return decisions


def after_load(decisions: list[Decision], rejected: Collection[str]) -> list[Decision]:
    """The decisions once their load is done: an original loaded so far whose submission is in `rejected` (it
    has an error finding the load found, such as `period_approved`) is rejected."""
    return [
        replace(d, status=REJECTED) if d.status == LOADED and d.receipt.submission_id in rejected else d
        for d in decisions
    ]
