"""The portal: web pages for ministry clerks and a JSON API for their scripts (`REPORTING.md` sections 1-2).

Pages are rendered on the server (Jinja, autoescaped) with one local stylesheet and no
script, so they work on a slow line, without internet and on a phone. A browser holds a
session cookie (HttpOnly, SameSite=Strict) whose token is kept only as a digest; every
form carries a token against cross-site request forgery. The API takes HTTP Basic
credentials on each request and answers 401 without a challenge, so browsers never
cache API credentials. Every request looks the account up again: a disabled account
stops at once.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import secrets
import socket
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import duckdb
from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from flows.portal.intake import Intake, Refused, receipt, run_errors_wanted
from flows.releases import act_arguments, record_act
from flows.settings import Settings
from flows.template import begun, template_name, warehouse_notes, write_template
from schemas.registry import LANGUAGES, Registry
from schemas.texts import text
from transforms.periods import parse_period
from warehouse import approvals
from warehouse.accounts import Account, AccountStore, absent_user_hash
from warehouse.layout import WarehouseFiles
from warehouse.lock import WarehouseBusy
from warehouse.queries import DetachedAnalystFile, open_analyst
from warehouse.uploads import Upload

_HERE = Path(__file__).parent
SESSION_COOKIE = "ctip_session"
SIGN_IN_COOKIE = "ctip_sign_in"  # the token of the sign-in form, before there is a session
SIGN_IN_TOKEN_CHARS = 43  # of secrets.token_urlsafe(32): a cookie shorter than that was not made by the portal
LANGUAGE_COOKIE = "ctip_lang"  # the language chosen before signing in
HOME_LIST = 500  # the newest submissions a home page lists (the API lists them all)
# How long an approval waits for the writer: long enough for another reviewer's act, short of a run's load.
APPROVAL_WAIT_SECONDS = 5.0


class _SignInFirst(Exception):
    """A page that needs a session was asked for without one."""


def create_app(
    settings: Settings, registry: Registry, secure_cookies: bool = False, separate_judge: bool = False
) -> FastAPI:
    """The portal for one warehouse and inbox; `secure_cookies` when people reach it through HTTPS;
    `separate_judge` to validate uploads in warm processes of their own, one per core (as `ctip portal` does)."""
    app = FastAPI(title="ctip portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.filters["local"] = lambda text: _local_time(text, settings)
    accounts = AccountStore(WarehouseFiles(settings.warehouse).accounts_db)
    absent_user_hash()  # before the first sign-in, so that an unknown name costs what a wrong password costs
    intake = Intake(settings, registry, separate_judge)
    app.state.intake = intake
    app.router.on_shutdown.append(intake.close)

    def receipts_for(uploads: list[Upload]) -> list[dict]:
        states = intake.states(
            [u.submission_id for u in uploads],
            {u.submission_id: u.inbox_name for u in uploads},
            errors_of=run_errors_wanted(uploads),
        )
        return [receipt(u, states.get(u.submission_id)) for u in uploads]

    def visible(account: Account, submission_id: str) -> Upload | None:
        upload = intake.ledger.get(submission_id)
        return upload if upload is not None and account.may_see(upload.reporter) else None

    # ------------------------------------------------------------------ API
    def api_account(request: Request) -> Account | None:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return accounts.sign_in(user, password, "api").account

    def unauthorised() -> JSONResponse:
        return JSONResponse({"error": "sign in with the account's user and password (HTTP Basic)"}, status_code=401)

    @app.get("/api/v1/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.post("/api/v1/submissions")
    async def api_upload(request: Request):
        account = await run_in_threadpool(api_account, request)
        if account is None:
            return unauthorised()
        try:
            spooled = await intake.receive(request)
            upload, _ = await run_in_threadpool(intake.accept, spooled, account)
        except Refused as refused:
            return JSONResponse({"error": refused.message}, status_code=refused.status)
        return JSONResponse(
            receipts_for([upload])[0] if upload.verdict != "duplicate" else receipt(upload, None), status_code=201
        )

    @app.get("/api/v1/submissions")
    def api_list(request: Request):
        account = api_account(request)
        if account is None:
            return unauthorised()
        uploads = intake.ledger.of_reporter(None if account.is_reviewer else account.reporter)
        return {"submissions": receipts_for(uploads)}

    @app.get("/api/v1/submissions/{submission_id}")
    def api_one(submission_id: str, request: Request):
        account = api_account(request)
        if account is None:
            return unauthorised()
        upload = visible(account, submission_id.lower())  # a SHA-256 in capitals is the same one
        if upload is None:
            return JSONResponse({"error": "no such submission of yours"}, status_code=404)
        return receipts_for([upload])[0]

    # ------------------------------------------------------------------ pages
    def page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
        """A page in the account's language (before sign-in, the one chosen on the sign-in page)."""
        account = context.get("account")
        lang = account.lang if account is not None else request.cookies.get(LANGUAGE_COOKIE, "en")
        lang = lang if lang in LANGUAGES else "en"
        context.update(
            lang=lang,
            other_lang="en" if lang == "km" else "km",
            t=lambda key, **values: text("portal", key, lang, **values),
        )
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def refusal(
        request: Request, session: tuple[Account, str], status: int, message: str, title: str | None = None
    ) -> HTMLResponse:
        """The error page for a signed-in account: what went wrong, in a sentence (under `title`, by default
        "Not taken")."""
        account, csrf = session
        return page(request, "error.html", status_code=status, account=account, csrf=csrf, message=message, title=title)

    def browser(request: Request) -> tuple[Account, str] | None:
        return accounts.session(request.cookies.get(SESSION_COOKIE, ""))

    def to_sign_in() -> RedirectResponse:
        return RedirectResponse("/signin", status_code=303)

    def signed_in(request: Request) -> tuple[Account, str]:
        """The session of a page that needs one; without it, the browser goes to the sign-in page."""
        session = browser(request)
        if session is None:
            raise _SignInFirst
        return session

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        """The API's errors (an unknown address, a method it does not take) in the shape of its own: `error`."""
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(error.detail)}, status_code=error.status_code, headers=error.headers)
        return await http_exception_handler(request, error)

    @app.exception_handler(_SignInFirst)
    async def sign_in_first(request: Request, _: _SignInFirst) -> RedirectResponse:
        return to_sign_in()

    def same_token(given: str | None, expected: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), expected.encode())

    @app.get("/signin", response_class=HTMLResponse)
    def sign_in_page(request: Request, failed: bool = False, lang: str | None = None, expired: bool = False):
        if lang in LANGUAGES:  # the language link of the sign-in page: remembered for this browser
            response = RedirectResponse("/signin", status_code=303)
            response.set_cookie(
                LANGUAGE_COOKIE, lang, httponly=True, samesite="strict", secure=secure_cookies, max_age=365 * 24 * 3600
            )
            return response
        # the browser's token, as long as it has one: a sign-in page opened in a second tab leaves the first valid
        held = request.cookies.get(SIGN_IN_COOKIE, "")
        token = held if not expired and len(held) >= SIGN_IN_TOKEN_CHARS else secrets.token_urlsafe(32)
        status = 403 if expired else 401 if failed else 200
        response = page(
            request, "signin.html", status_code=status, csrf=token, failed=failed, expired=expired, account=None
        )
        response.set_cookie(SIGN_IN_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies)
        return response

    @app.post("/language")
    async def choose_language(request: Request, session: tuple[Account, str] = Depends(signed_in)):
        form = await request.form(max_files=0, max_fields=4, max_part_size=4096)
        account, csrf = session
        if same_token(form.get("csrf"), csrf) and form.get("lang") in LANGUAGES:
            accounts.set_language(account.user, str(form.get("lang")))
        return RedirectResponse("/", status_code=303)

    @app.post("/signin")
    async def sign_in(request: Request):
        form = await request.form(max_files=0, max_fields=4, max_part_size=4096)
        if not same_token(form.get("csrf"), request.cookies.get(SIGN_IN_COOKIE, "")):
            return sign_in_page(request, expired=True)  # a new form at once, saying why
        signed = await run_in_threadpool(
            accounts.sign_in, str(form.get("user", "")), str(form.get("password", "")), "portal"
        )
        if not signed.ok:
            return sign_in_page(request, failed=True)
        token, _ = accounts.open_session(signed.account)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies)
        response.delete_cookie(SIGN_IN_COOKIE)
        return response

    @app.post("/signout")
    async def sign_out(request: Request):
        # the session ends whatever the form: a browser told it has signed out must not stay signed in (a forged
        # sign-out can do no more than the button)
        accounts.close_session(request.cookies.get(SESSION_COOKIE, ""))
        response = to_sign_in()
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, session: tuple[Account, str] = Depends(signed_in)):
        account, csrf = session
        reporter = None if account.is_reviewer else account.reporter
        uploads = intake.ledger.of_reporter(reporter, limit=HOME_LIST)
        count = len(uploads) if len(uploads) < HOME_LIST else intake.ledger.count_of_reporter(reporter)
        return page(
            request,
            "home.html",
            account=account,
            csrf=csrf,
            submissions=receipts_for(uploads),
            count=count,
            limit=intake.size_limit,
        )

    @app.post("/upload", response_class=HTMLResponse)
    async def upload_page(request: Request, session: tuple[Account, str] = Depends(signed_in)):
        account, csrf = session
        try:
            spooled = await intake.receive(request)
        except Refused as refused:
            return refusal(request, session, refused.status, refused.message_in(account.lang))
        if not same_token(spooled.fields.get("csrf"), csrf):
            spooled.discard()
            return refusal(request, session, 403, text("portal", "upload_form_expired", account.lang))
        try:
            upload, _ = await run_in_threadpool(intake.accept, spooled, account)
        except Refused as refused:
            return refusal(request, session, refused.status, refused.message_in(account.lang))
        if visible(account, upload.submission_id) is None:  # the same bytes came in through the inbox folder
            return page(request, "answer.html", account=account, csrf=csrf, receipt=receipt(upload, None), again=True)
        # Post, then redirect: reloading the answer shows it again instead of sending the file twice.
        again = "?again=1" if upload.verdict == "duplicate" else ""
        return RedirectResponse(f"/submissions/{upload.submission_id}{again}", status_code=303)

    @app.get("/template")
    def template_download(request: Request, session: tuple[Account, str] = Depends(signed_in), period: str = ""):
        account, csrf = session
        parsed = parse_period(period)
        if parsed is None:
            return refusal(request, session, 400, text("portal", "not_a_period", account.lang, period=period))
        if not begun(parsed.code, settings.zone):
            return refusal(request, session, 400, text("portal", "period_not_begun", account.lang, period=parsed.code))
        notes = []
        # an analyst file that cannot be read now: the workbook without what the warehouse says, rather than none
        with contextlib.suppress(duckdb.Error, DetachedAnalystFile):
            if settings.warehouse.exists():
                with open_analyst(settings.warehouse) as con:
                    notes = warehouse_notes(con, account.reporter, parsed.code, settings.timezone, account.lang)
        with tempfile.TemporaryDirectory(dir=intake.files.upload_spool_dir.parent) as folder:
            path = Path(folder) / template_name(account.reporter, parsed.code)
            write_template(path, registry, account.reporter, parsed.code, account.lang, notes)
            content = path.read_bytes()
        return Response(
            content,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{path.name}"'},
        )

    @app.get("/submissions/{submission_id}", response_class=HTMLResponse)
    def submission_page(
        submission_id: str, request: Request, session: tuple[Account, str] = Depends(signed_in), again: bool = False
    ):
        account, csrf = session
        upload = visible(account, submission_id.lower())  # a SHA-256 in capitals is the same one
        if upload is None:
            return refusal(request, session, 404, text("portal", "no_such_submission", account.lang))
        shown = receipts_for([upload])[0]
        shown["findings"] = intake.findings_in(upload, shown, account.lang)  # in the reader's language
        return page(request, "answer.html", account=account, csrf=csrf, receipt=shown, again=again)

    @app.get("/board", response_class=HTMLResponse)
    def board(request: Request, session: tuple[Account, str] = Depends(signed_in)):
        """The completeness board: every reporter-period due, for reviewers (a sender sees no other reporter's)."""
        account, csrf = session
        if not account.is_reviewer:
            return refusal(request, session, 403, text("portal", "board_reviewers_only", account.lang))
        now = datetime.now(settings.zone)
        rows = board_rows(settings, now, account.lang)
        found = {row["status"]: 0 for row in rows}
        for row in rows:
            found[row["status"]] += 1
        counts = [(status, text("report", f"status_{status}", account.lang), found[status]) for status in found]
        return page(
            request,
            "board.html",
            account=account,
            csrf=csrf,
            rows=rows,
            counts=counts,
            as_of=f"{now:%Y-%m-%d %H:%M}",
            zone=settings.timezone,
        )

    @app.get("/approvals", response_class=HTMLResponse)
    def approvals_page(
        request: Request,
        session: tuple[Account, str] = Depends(signed_in),
        done: str = "",
        reporter: str = "",
        period: str = "",
    ):
        """Reviewers approve and unapprove reporter-periods here (a sender is refused and sees none)."""
        account, csrf = session
        if not account.is_reviewer:
            return refusal(request, session, 403, text("portal", "approvals_reviewers_only", account.lang))
        now = datetime.now(settings.zone)
        done_text = (
            text("portal", f"done_{done}", account.lang, reporter=reporter, period=period)
            if done in (approvals.APPROVE, approvals.UNAPPROVE)
            else ""
        )
        return page(
            request,
            "approvals.html",
            account=account,
            csrf=csrf,
            rows=approval_rows(settings, now, account.lang),
            done=done_text,
            as_of=f"{now:%Y-%m-%d %H:%M}",
            zone=settings.timezone,
        )

    @app.post("/approvals", response_class=HTMLResponse)
    async def approvals_act(request: Request, session: tuple[Account, str] = Depends(signed_in)):
        """Record an approve or unapprove exactly as `ctip approve` and `ctip unapprove` do, by the signed-in
        reviewer; answered 503 without recording anything while a run or backfill holds the writer."""
        account, csrf = session
        not_recorded = text("portal", "act_refused", account.lang)
        if not account.is_reviewer:
            return refusal(
                request, session, 403, text("portal", "approvals_reviewers_only", account.lang), not_recorded
            )
        form = await request.form(max_files=0, max_fields=8, max_part_size=4096)
        if not same_token(form.get("csrf"), csrf):
            expired = text("portal", "approvals_form_expired", account.lang)
            return refusal(request, session, 403, expired, not_recorded)
        action = str(form.get("action", ""))
        if action not in (approvals.APPROVE, approvals.UNAPPROVE):
            neither = text("portal", "not_an_action", account.lang, action=action)
            return refusal(request, session, 400, neither, not_recorded)
        note = str(form.get("reason" if action == approvals.UNAPPROVE else "note", "")).strip() or None
        if action == approvals.UNAPPROVE and note is None:
            return refusal(request, session, 400, text("portal", "reason_blank", account.lang), not_recorded)
        if not settings.warehouse.exists():
            return refusal(request, session, 409, text("portal", "nothing_published", account.lang), not_recorded)
        try:
            code, period_code, by = act_arguments(
                registry,
                str(form.get("reporter", "")),
                str(form.get("period", "")),
                account.user,
                datetime.now(UTC).date(),
            )
        except approvals.ActRefused as refused:
            return refusal(request, session, 400, refused.message_in(account.lang), not_recorded)
        try:
            await run_in_threadpool(
                record_act,
                settings,
                registry,
                code,
                period_code,
                action,
                by,
                note,
                datetime.now(UTC),
                APPROVAL_WAIT_SECONDS,
                f"ctip {action} {code} {period_code} by {by} (portal)",
            )
        except approvals.ActRefused as refused:
            return refusal(request, session, 409, refused.message_in(account.lang), not_recorded)
        except WarehouseBusy:
            busy = refusal(request, session, 503, text("portal", "warehouse_busy", account.lang), not_recorded)
            busy.headers["Retry-After"] = "60"
            return busy
        query = urlencode({"done": action, "reporter": code, "period": period_code})
        return RedirectResponse(f"/approvals?{query}", status_code=303)

    @app.middleware("http")
    async def headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'"
        )
        if request.url.path != "/api/v1/health" and not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def board_rows(settings: Settings, now: datetime, lang: str) -> list[dict]:
    """marts.completeness as of `now`, the latest due first, as the board shows it (none before a first run)."""
    from flows.completeness import completeness_rows
    from flows.report import completeness_section
    from warehouse.queries import open_analyst

    if not settings.warehouse.exists():
        return []
    with open_analyst(settings.warehouse) as con:
        rows = completeness_rows(con, settings.timezone, now)
    return list(reversed(completeness_section(rows, settings.timezone, now, lang)["rows"]))


def approval_rows(settings: Settings, now: datetime, lang: str) -> list[dict]:
    """Every reporter-period holding figures or ever approved, with its arrival (marts.completeness as of `now`)
    and its latest act, the latest period first (none before a first run)."""
    from flows.completeness import completeness_rows
    from warehouse.queries import open_analyst

    if not settings.warehouse.exists():
        return []
    with open_analyst(settings.warehouse) as con:
        held = approvals.reporter_periods(con)
        arrival = {
            (row["reporter"], row["period"]): row["status"]
            for row in completeness_rows(con, settings.timezone, now).select("reporter", "period", "status").to_dicts()
        }
    rows = []
    for row in held:
        status = arrival.get((row["reporter"], row["period"]))
        rows.append(
            {
                **row,
                "approved": row["action"] == approvals.APPROVE,
                "arrival": status,
                "arrival_text": text("report", f"status_{status}", lang) if status else "",
                "at": row["at"].isoformat() if row["at"] is not None else None,
            }
        )
    rows.sort(key=lambda row: (row["reporter"], row["period"]))
    rows.sort(key=lambda row: parse_period(row["period"]).start, reverse=True)
    return rows


def _local_time(text: str | None, settings: Settings) -> str:
    """An ISO time of a receipt as people read it: minutes, in the office's time zone, with its offset."""
    if not text:
        return ""
    moment = datetime.fromisoformat(text).astimezone(settings.zone)
    return f"{moment:%Y-%m-%d %H:%M} (UTC{moment:%z})".replace("00)", ")").replace("(UTC+0)", "(UTC)")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port`, before anything else starts; OSError when it cannot be (the port is taken,
    the address is not this machine's)."""
    family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def serve_portal(
    settings: Settings, registry: Registry, listening: socket.socket, secure_cookies: bool = False
) -> None:
    """Serve the portal on `listening` (`listening_socket`) until stopped (Ctrl-C or SIGTERM)."""
    import uvicorn

    host, port = listening.getsockname()[:2]
    app = create_app(settings, registry, secure_cookies, separate_judge=True)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
    print(f"ctip portal on http://{host}:{port} (inbox {settings.inbox}, warehouse {settings.warehouse})", flush=True)
    uvicorn.Server(config).run(sockets=[listening])
