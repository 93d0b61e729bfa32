"""Accounts: who may send and see what, kept beside the warehouse and never in the analyst file.

The store is a SQLite database in WAL mode (`<warehouse>.ctip/accounts.sqlite`), so the
portal and `ctip accounts` can both write while the other runs: every change is one
short `BEGIN IMMEDIATE` transaction, and a writer waits for another instead of failing.
Passwords are kept only as Argon2id hashes (argon2-cffi). Every sign-in, failed sign-in
and change is a row of `account_events`. After `MAX_FAILED_SIGN_INS` failures in a row an
account is locked for `LOCK_MINUTES`; while locked even the right password is refused.

A script of the API signs in with every request. An `AccountStore` remembers, in memory only,
the password each user last signed in with as a keyed digest (HMAC-SHA-256 under a random key of
the process) beside the stored hash it matched, so the same user and password cost the slow hash
once per process, not once per upload; a reset changes the stored hash, which forgets it. Every
sign-in is still checked against the account as it stands (enabled, not locked) and audited.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schemas.registry import LANGUAGES
from warehouse import sqlite_store

ROLES = ("sender", "reviewer")
MAX_FAILED_SIGN_INS = 5
LOCK_MINUTES = 15
SESSION_HOURS = 12  # a signed-in browser signs in again after a working day
# Letters and digits a clerk cannot misread (no 0/O, 1/l/I): 16 of them carry about 90 bits.
_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_SCHEMA = """
create table if not exists accounts (
    user text primary key collate nocase,
    reporter text not null,
    role text not null check (role in ('sender', 'reviewer')),
    email text,
    lang text not null check (lang in ('en', 'km')),
    enabled integer not null default 1,
    password_hash text not null,
    created_at text not null,
    changed_at text not null,
    last_sign_in_at text,
    failed_sign_ins integer not null default 0,
    locked_until text
);
create table if not exists sessions (
    token_sha256 text primary key,  -- the cookie's token is never stored, only its digest
    user text not null collate nocase,
    csrf_token text not null,
    created_at text not null,
    expires_at text not null
);
create table if not exists account_events (
    event_id integer primary key autoincrement,
    at text not null,
    user text not null,
    event text not null,  -- added, password_reset, disabled, enabled, language_changed, signed_in, sign_in_failed,
                          -- signed_out
    source text not null,  -- command, portal, api
    detail text
);
"""

_hasher = PasswordHasher()  # Argon2id with the library's current recommended costs


@functools.cache
def absent_user_hash() -> str:
    """A hash no password matches, verified against when a sign-in names no account, so that a wrong user costs
    the same time as a wrong password. Made once per process, when first needed: a server that signs people
    in makes it as it starts (so the first unknown name costs no more than the next), a command never."""
    return _hasher.hash(secrets.token_hex(16))


class AccountError(Exception):
    """A change that cannot be made: the message says why, in words."""


class AccountExists(AccountError):
    pass


class NoSuchAccount(AccountError):
    pass


@dataclass(frozen=True)
class Account:
    user: str
    reporter: str
    role: str
    email: str | None
    lang: str
    enabled: bool
    created_at: datetime
    last_sign_in_at: datetime | None

    @property
    def is_reviewer(self) -> bool:
        return self.role == "reviewer"

    def may_see(self, reporter: str | None) -> bool:
        """A sender sees its own reporter's submissions only; a reviewer sees every reporter's."""
        return self.is_reviewer or reporter == self.reporter

    def as_dict(self) -> dict:
        return {
            "user": self.user,
            "reporter": self.reporter,
            "role": self.role,
            "email": self.email,
            "lang": self.lang,
            "enabled": self.enabled,
            "last_sign_in_at": self.last_sign_in_at.isoformat() if self.last_sign_in_at else None,
        }


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in: the account when it succeeded, else why not (never shown to the caller)."""

    account: Account | None
    reason: str  # signed_in, unknown_user, wrong_password, disabled, locked

    @property
    def ok(self) -> bool:
        return self.account is not None


def new_password() -> str:
    """A random password in four groups of four, easy to copy and to type."""
    chars = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def check_user_name(user: str) -> str:
    if not _USER_NAME.fullmatch(user):
        raise ValueError(
            f"'{user}' is not a user name: use 1 to 64 letters, digits, dots, dashes, underscores or @, "
            "starting with a letter or digit"
        )
    return user


def check_email(email: str | None) -> str | None:
    if email is not None and not _EMAIL.fullmatch(email):
        raise ValueError(f"'{email}' is not an e-mail address")
    return email


def _now() -> datetime:
    return datetime.now(UTC)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class AccountStore:
    """The accounts of one warehouse. Each method is one short transaction."""

    def __init__(self, path: Path):
        self.path = path
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, tuple[str, bytes]] = {}  # user -> (stored hash, keyed digest of its password)

    def _matches(self, row: sqlite3.Row, password: str) -> bool:
        """Whether `password` is the account's: remembered from an earlier sign-in against the same stored hash,
        or checked against that hash (the slow way) and then remembered."""
        digest = hmac.new(self._key, password.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        remembered = self._verified.get(row["user"])
        if remembered is not None and remembered[0] == row["password_hash"]:
            if hmac.compare_digest(remembered[1], digest):
                return True
        right = _verify(row["password_hash"], password)
        if right:
            self._verified[row["user"]] = (row["password_hash"], digest)
        return right

    def _connect(self):
        return sqlite_store.connect(self.path, _SCHEMA)

    def _change(self):
        return sqlite_store.change(self.path, _SCHEMA)

    @staticmethod
    def _event(con: sqlite3.Connection, user: str, event: str, source: str, detail: str | None = None) -> None:
        con.execute(
            "insert into account_events (at, user, event, source, detail) values (?, ?, ?, ?, ?)",
            (_text(_now()), user, event, source, detail),
        )

    @staticmethod
    def _account(row: sqlite3.Row) -> Account:
        return sqlite_store.as_record(Account, row, enabled=bool, created_at=_moment, last_sign_in_at=_moment)

    def add(
        self,
        user: str,
        reporter: str,
        role: str = "sender",
        email: str | None = None,
        lang: str = "en",
        source: str = "command",
    ) -> str:
        """Create an account and return its new password (shown once, kept only as a hash)."""
        check_user_name(user)
        check_email(email)
        if role not in ROLES:
            raise ValueError(f"'{role}' is not a role: use {' or '.join(ROLES)}")
        if lang not in LANGUAGES:
            raise ValueError(f"'{lang}' is not a language: use {' or '.join(LANGUAGES)}")
        password = new_password()
        digest = _hasher.hash(password)
        with self._change() as con:
            if con.execute("select 1 from accounts where user = ?", (user,)).fetchone():
                raise AccountExists(f"the account '{user}' exists already")
            now = _text(_now())
            con.execute(
                "insert into accounts (user, reporter, role, email, lang, password_hash, created_at, changed_at) "
                "values (?, ?, ?, ?, ?, ?, ?, ?)",
                (user, reporter, role, email, lang, digest, now, now),
            )
            self._event(con, user, "added", source, f"reporter={reporter} role={role}")
        return password

    def reset(self, user: str, source: str = "command") -> str:
        """A new password; the old one stops working at once, and so do the sessions opened with it (a password
        is reset when it may have leaked). A reset also lifts a lock."""
        password = new_password()
        digest = _hasher.hash(password)
        with self._change() as con:
            name = self._existing(con, user)
            con.execute(
                "update accounts set password_hash = ?, changed_at = ?, failed_sign_ins = 0, locked_until = null "
                "where user = ?",
                (digest, _text(_now()), name),
            )
            con.execute("delete from sessions where user = ?", (name,))
            self._event(con, name, "password_reset", source)
        return password

    def disable(self, user: str, source: str = "command") -> None:
        """The account can no longer sign in or send, from its next request on."""
        with self._change() as con:
            name = self._existing(con, user)
            con.execute("update accounts set enabled = 0, changed_at = ? where user = ?", (_text(_now()), name))
            con.execute("delete from sessions where user = ?", (name,))
            self._event(con, name, "disabled", source)

    def enable(self, user: str, source: str = "command") -> None:
        """A disabled account may sign in and send again, with its password as it stands (reset it first when
        its owner no longer has it)."""
        with self._change() as con:
            name = self._existing(con, user)
            con.execute("update accounts set enabled = 1, changed_at = ? where user = ?", (_text(_now()), name))
            self._event(con, name, "enabled", source)

    def set_language(self, user: str, lang: str, source: str = "portal") -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"'{lang}' is not a language: use {' or '.join(LANGUAGES)}")
        with self._change() as con:
            name = self._existing(con, user)
            con.execute("update accounts set lang = ?, changed_at = ? where user = ?", (lang, _text(_now()), name))
            self._event(con, name, "language_changed", source, lang)

    @staticmethod
    def _existing(con: sqlite3.Connection, user: str) -> str:
        row = con.execute("select user from accounts where user = ?", (user,)).fetchone()
        if row is None:
            raise NoSuchAccount(f"there is no account '{user}'")
        return row["user"]

    def get(self, user: str) -> Account | None:
        """The account as it stands now (a disabled one included), or None."""
        if not self.path.exists():
            return None
        with self._connect() as con:
            row = con.execute("select * from accounts where user = ?", (user,)).fetchone()
        return self._account(row) if row else None

    def list(self) -> list[Account]:
        if not self.path.exists():
            return []
        with self._connect() as con:
            rows = con.execute("select * from accounts order by reporter, user").fetchall()
        return [self._account(row) for row in rows]

    def events(self, user: str | None = None) -> list[dict]:
        """The audit trail, oldest first: every sign-in, failed sign-in and change."""
        if not self.path.exists():
            return []
        with self._connect() as con:
            query = "select at, user, event, source, detail from account_events"
            rows = (
                con.execute(query + " where user = ? collate nocase order by event_id", (user,))
                if user
                else (con.execute(query + " order by event_id"))
            )
            return [dict(row) for row in rows.fetchall()]

    def sign_in(self, user: str, password: str, source: str, now: datetime | None = None) -> SignIn:
        """Check a user's password. Audited either way; failures in a row lock the account for a while."""
        now = now or _now()
        with self._connect() as con:
            row = con.execute("select * from accounts where user = ?", (user,)).fetchone()
        if row is None:
            _verify(absent_user_hash(), password)
            with self._change() as con:
                self._event(con, user[:64], "sign_in_failed", source, "unknown user")
            return SignIn(None, "unknown_user")
        locked_until = _moment(row["locked_until"])
        if locked_until is not None and locked_until > now:
            with self._change() as con:
                self._event(con, row["user"], "sign_in_failed", source, f"locked until {_text(locked_until)}")
            return SignIn(None, "locked")
        right = self._matches(row, password)
        with self._change() as con:
            if not right:
                failed = con.execute(
                    "update accounts set failed_sign_ins = failed_sign_ins + 1 where user = ? returning failed_sign_ins",
                    (row["user"],),
                ).fetchone()[0]
                detail = "wrong password"
                if failed >= MAX_FAILED_SIGN_INS:
                    until = now + timedelta(minutes=LOCK_MINUTES)
                    con.execute(
                        "update accounts set failed_sign_ins = 0, locked_until = ? where user = ?",
                        (_text(until), row["user"]),
                    )
                    detail += f"; locked until {_text(until)} after {failed} failures in a row"
                self._event(con, row["user"], "sign_in_failed", source, detail)
                return SignIn(None, "wrong_password")
            if not row["enabled"]:
                self._event(con, row["user"], "sign_in_failed", source, "account disabled")
                return SignIn(None, "disabled")
            con.execute(
                "update accounts set last_sign_in_at = ?, failed_sign_ins = 0, locked_until = null where user = ?",
                (_text(now), row["user"]),
            )
            self._event(con, row["user"], "signed_in", source)
            current = con.execute("select * from accounts where user = ?", (row["user"],)).fetchone()
        return SignIn(self._account(current), "signed_in")

    def open_session(self, account: Account, now: datetime | None = None) -> tuple[str, str]:
        """A new browser session for a signed-in account: (cookie token, form token against forgery)."""
        now = now or _now()
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._change() as con:
            con.execute("delete from sessions where expires_at < ?", (_text(now),))
            con.execute(
                "insert into sessions (token_sha256, user, csrf_token, created_at, expires_at) values (?, ?, ?, ?, ?)",
                (_digest(token), account.user, csrf, _text(now), _text(now + timedelta(hours=SESSION_HOURS))),
            )
        return token, csrf

    def session(self, token: str, now: datetime | None = None) -> tuple[Account, str] | None:
        """The account and form token of a live session; None when unknown, expired or the account is disabled."""
        if not token or not self.path.exists():
            return None
        with self._connect() as con:
            row = con.execute(
                "select a.*, s.csrf_token, s.expires_at from sessions s join accounts a on a.user = s.user "
                "where s.token_sha256 = ?",
                (_digest(token),),
            ).fetchone()
        if row is None or not row["enabled"] or _moment(row["expires_at"]) <= (now or _now()):
            return None
        return self._account(row), row["csrf_token"]

    def close_session(self, token: str, source: str = "portal") -> None:
        with self._change() as con:
            row = con.execute("select user from sessions where token_sha256 = ?", (_digest(token),)).fetchone()
            if row is not None:
                con.execute("delete from sessions where token_sha256 = ?", (_digest(token),))
                self._event(con, row["user"], "signed_out", source)


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
