"""The one place where a receipt is decided: loaded, rejected or duplicate."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.shapes import Receipt
from transforms.decisions import decide, is_original

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def _receipt(sequence: int, submission_id: str) -> Receipt:
    return Receipt(sequence, submission_id, f"f{sequence}.csv", "csv", 10, NOW, NOW)


def test_the_first_receipt_not_set_aside_is_the_original_and_later_ones_are_duplicates():
    first, again, retried = _receipt(1, "a"), _receipt(2, "a"), _receipt(3, "b")
    originals = {"a": 1, "b": 3}  # b's receipt 0 was set aside, so 3 is its original now
    assert [is_original(r, originals) for r in (first, again, retried)] == [True, False, True]
    assert is_original(_receipt(4, "c"), originals)  # no original recorded: a receipt is its own


def test_each_receipt_is_loaded_rejected_or_a_duplicate_named_after_its_original():
    receipts = [_receipt(1, "a"), _receipt(2, "b"), _receipt(3, "a"), _receipt(4, "c")]
    decisions = decide(
        receipts, {"a": 1, "b": 2, "c": 4}, rejected={"b", "c"}, set_aside={"c"}, reporters={"a": "NCCT", "b": "MOI"}
    )
    assert [(d.receipt.sequence, d.status, d.reporter, d.set_aside) for d in decisions] == [
        (1, "loaded", "NCCT", False),
        (2, "rejected", "MOI", False),
        (3, "duplicate", "NCCT", False),  # a duplicate is never set aside, whatever its original
        (4, "rejected", None, True),  # ctip failed on it: set aside, so it is tried again under another name
    ]
