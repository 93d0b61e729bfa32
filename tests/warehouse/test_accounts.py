"""The account store: hashed passwords, audit of every sign-in and change, lock after failures, two writers."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from warehouse.accounts import LOCK_MINUTES, MAX_FAILED_SIGN_INS, AccountExists, AccountStore, NoSuchAccount


@pytest.fixture
def store(tmp_path) -> AccountStore:
    return AccountStore(tmp_path / "ctip.duckdb.ctip" / "accounts.sqlite")


def test_an_added_account_signs_in_with_its_password_only(store):
    password = store.add("clerk", "MOSVY", email="clerk@mosvy.gov.kh")
    assert store.sign_in("clerk", password, "portal").account.reporter == "MOSVY"
    assert store.sign_in("clerk", password + "x", "portal").reason == "wrong_password"
    assert store.sign_in("someone", password, "portal").reason == "unknown_user"
    assert store.get("clerk").last_sign_in_at is not None


def test_passwords_are_kept_only_as_argon2id_hashes_readable_by_ctip_alone(store):
    password = store.add("clerk", "MOI")
    raw = b"".join(f.read_bytes() for f in store.path.parent.glob("accounts.sqlite*"))
    assert password.encode() not in raw
    with sqlite3.connect(store.path) as con:
        (digest,) = con.execute("select password_hash from accounts").fetchone()
    assert digest.startswith("$argon2id$")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_user_names_are_unique_whatever_their_case(store):
    store.add("Clerk", "MOI")
    with pytest.raises(AccountExists):
        store.add("clerk", "MOJ")
    assert [a.user for a in store.list()] == ["Clerk"]


def test_a_reset_password_replaces_the_old_one(store):
    old = store.add("clerk", "MOI")
    new = store.reset("clerk")
    assert new != old
    assert not store.sign_in("clerk", old, "portal").ok
    assert store.sign_in("clerk", new, "portal").ok
    with pytest.raises(NoSuchAccount):
        store.reset("nobody")


def test_a_script_signing_in_with_every_request_costs_the_slow_hash_once_until_the_password_changes(store, monkeypatch):
    import warehouse.accounts as accounts

    slow = []
    verify = accounts._verify
    monkeypatch.setattr(accounts, "_verify", lambda digest, password: slow.append(1) or verify(digest, password))
    password = store.add("script", "MOI")
    assert all(store.sign_in("script", password, "api").ok for _ in range(5))
    assert len(slow) == 1
    assert store.sign_in("script", password + "x", "api").reason == "wrong_password"  # checked, never remembered
    assert len(slow) == 2
    new = store.reset("script")
    assert store.sign_in("script", password, "api").reason == "wrong_password"  # the old one stops at once
    assert store.sign_in("script", new, "api").ok
    store.disable("script")
    assert store.sign_in("script", new, "api").reason == "disabled"
    assert [e["event"] for e in store.events("script")].count("signed_in") == 6  # each one audited
    assert new.encode() not in b"".join(f.read_bytes() for f in store.path.parent.glob("accounts.sqlite*"))


def test_a_disabled_account_cannot_sign_in_even_with_its_password(store):
    password = store.add("clerk", "MOI")
    store.disable("clerk")
    answer = store.sign_in("clerk", password, "api")
    assert (answer.ok, answer.reason) == (False, "disabled")
    assert store.get("clerk").enabled is False


def test_failures_in_a_row_lock_the_account_for_a_while(store):
    password = store.add("clerk", "MOI")
    start = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    for attempt in range(MAX_FAILED_SIGN_INS):
        assert store.sign_in("clerk", f"guess-{attempt}", "portal", now=start).reason == "wrong_password"
    locked = store.sign_in("clerk", password, "portal", now=start + timedelta(minutes=LOCK_MINUTES - 1))
    assert (locked.ok, locked.reason) == (False, "locked")
    assert store.sign_in("clerk", password, "portal", now=start + timedelta(minutes=LOCK_MINUTES + 1)).ok


def test_a_success_starts_the_count_of_failures_again(store):
    password = store.add("clerk", "MOI")
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        store.sign_in("clerk", "wrong", "portal", now=now)
    assert store.sign_in("clerk", password, "portal", now=now).ok
    store.sign_in("clerk", "wrong", "portal", now=now)
    assert store.sign_in("clerk", password, "portal", now=now).ok


def test_every_sign_in_failure_and_change_is_audited(store):
    password = store.add("clerk", "MOI")
    store.sign_in("clerk", password, "portal")
    store.sign_in("clerk", "wrong", "api")
    store.reset("clerk")
    store.disable("clerk")
    events = [(e["event"], e["source"]) for e in store.events("clerk")]
    assert events == [
        ("added", "command"),
        ("signed_in", "portal"),
        ("sign_in_failed", "api"),
        ("password_reset", "command"),
        ("disabled", "command"),
    ]


HOLDER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("begin immediate")
con.execute("update accounts set changed_at = changed_at")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("commit")
"""


def test_a_second_writer_waits_for_the_first_instead_of_failing(store):
    store.add("first", "MOI")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(store.path), "1.5"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        store.add("second", "MOJ")  # waits for the other writer's transaction, then succeeds
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=10)
    assert holder.returncode == 0
    assert waited > 0.5
    assert {a.user for a in store.list()} == {"first", "second"}
