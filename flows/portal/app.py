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
import hmac
import secrets
import tempfile
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from flows.portal.intake import Intake, Refused, receipt
from flows.settings import Settings
from flows.template import write_template
from schemas.registry import LANGUAGES, Registry
from schemas.texts import text
from transforms.periods import parse_period
from warehouse.accounts import Account, AccountStore
from warehouse.layout import WarehouseFiles
from warehouse.uploads import Upload

_HERE = Path(__file__).parent
SESSION_COOKIE = "ctip_session"
SIGN_IN_COOKIE = "ctip_sign_in"  # the token of the sign-in form, before there is a session
LANGUAGE_COOKIE = "ctip_lang"  # the language chosen before signing in


def create_app(settings: Settings, registry: Registry, secure_cookies: bool = False) -> FastAPI:
    """The portal for one warehouse and inbox; `secure_cookies` when people reach it through HTTPS."""
    app = FastAPI(title="ctip portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.filters["local"] = lambda text: _local_time(text, settings)
    accounts = AccountStore(WarehouseFiles(settings.warehouse).accounts_db)
    intake = Intake(settings, registry)

    def receipts_for(uploads: list[Upload]) -> list[dict]:
        states = intake.states([u.submission_id for u in uploads], {u.submission_id: u.inbox_name for u in uploads})
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
        upload = visible(account, submission_id)
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

    def browser(request: Request) -> tuple[Account, str] | None:
        return accounts.session(request.cookies.get(SESSION_COOKIE, ""))

    def to_sign_in() -> RedirectResponse:
        return RedirectResponse("/signin", status_code=303)

    def same_token(given: str | None, expected: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), expected.encode())

    @app.get("/signin", response_class=HTMLResponse)
    def sign_in_page(request: Request, failed: bool = False, lang: str | None = None):
        if lang in LANGUAGES:  # the language link of the sign-in page: remembered for this browser
            response = RedirectResponse("/signin", status_code=303)
            response.set_cookie(
                LANGUAGE_COOKIE, lang, httponly=True, samesite="strict", secure=secure_cookies, max_age=365 * 24 * 3600
            )
            return response
        token = secrets.token_urlsafe(32)
        response = page(
            request, "signin.html", status_code=401 if failed else 200, csrf=token, failed=failed, account=None
        )
        response.set_cookie(SIGN_IN_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies)
        return response

    @app.post("/language")
    async def choose_language(request: Request):
        session = browser(request)
        form = await request.form(max_files=0, max_fields=4, max_part_size=4096)
        if session is None:
            return to_sign_in()
        account, csrf = session
        if same_token(form.get("csrf"), csrf) and form.get("lang") in LANGUAGES:
            accounts.set_language(account.user, str(form.get("lang")))
        return RedirectResponse("/", status_code=303)

    @app.post("/signin")
    async def sign_in(request: Request):
        form = await request.form(max_files=0, max_fields=4, max_part_size=4096)
        if not same_token(form.get("csrf"), request.cookies.get(SIGN_IN_COOKIE, "")):
            return page(
                request,
                "error.html",
                status_code=403,
                account=None,
                message="The sign-in form had expired. Open the sign-in page again.",
            )
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
        session = browser(request)
        form = await request.form(max_files=0, max_fields=4, max_part_size=4096)
        if session is not None and same_token(form.get("csrf"), session[1]):
            accounts.close_session(request.cookies.get(SESSION_COOKIE, ""))
        response = to_sign_in()
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):
        session = browser(request)
        if session is None:
            return to_sign_in()
        account, csrf = session
        uploads = intake.ledger.of_reporter(None if account.is_reviewer else account.reporter)
        return page(
            request, "home.html", account=account, csrf=csrf, submissions=receipts_for(uploads), limit=intake.size_limit
        )

    @app.post("/upload", response_class=HTMLResponse)
    async def upload_page(request: Request):
        session = browser(request)
        if session is None:
            return to_sign_in()
        account, csrf = session
        try:
            spooled = await intake.receive(request)
        except Refused as refused:
            return page(
                request, "error.html", status_code=refused.status, account=account, csrf=csrf, message=refused.message
            )
        if not same_token(spooled.fields.get("csrf"), csrf):
            spooled.discard()
            return page(
                request,
                "error.html",
                status_code=403,
                account=account,
                csrf=csrf,
                message="The upload form had expired. Open the page again and send the file once more.",
            )
        try:
            upload, _ = await run_in_threadpool(intake.accept, spooled, account)
        except Refused as refused:
            return page(
                request, "error.html", status_code=refused.status, account=account, csrf=csrf, message=refused.message
            )
        if visible(account, upload.submission_id) is None:  # the same bytes came in through the inbox folder
            return page(request, "answer.html", account=account, csrf=csrf, receipt=receipt(upload, None), again=True)
        # Post, then redirect: reloading the answer shows it again instead of sending the file twice.
        again = "?again=1" if upload.verdict == "duplicate" else ""
        return RedirectResponse(f"/submissions/{upload.submission_id}{again}", status_code=303)

    @app.get("/template")
    def template_download(request: Request, period: str = ""):
        session = browser(request)
        if session is None:
            return to_sign_in()
        account, csrf = session
        parsed = parse_period(period)
        if parsed is None:
            return page(
                request,
                "error.html",
                status_code=400,
                account=account,
                csrf=csrf,
                message=f"'{period}' is not a period: write it as 2019, 2019-S1, 2019-Q1 or 2019-01.",
            )
        with tempfile.TemporaryDirectory(dir=intake.files.upload_spool_dir.parent) as folder:
            path = Path(folder) / f"{account.reporter.lower()}_{parsed.code}.xlsx"
            write_template(path, registry, account.reporter, parsed.code, account.lang)
            content = path.read_bytes()
        return Response(
            content,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{path.name}"'},
        )

    @app.get("/submissions/{submission_id}", response_class=HTMLResponse)
    def submission_page(submission_id: str, request: Request, again: bool = False):
        session = browser(request)
        if session is None:
            return to_sign_in()
        account, csrf = session
        upload = visible(account, submission_id)
        if upload is None:
            return page(
                request,
                "error.html",
                status_code=404,
                account=account,
                csrf=csrf,
                message="There is no such submission of yours.",
            )
        return page(request, "answer.html", account=account, csrf=csrf, receipt=receipts_for([upload])[0], again=again)

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


def _local_time(text: str | None, settings: Settings) -> str:
    """An ISO time of a receipt as people read it: minutes, in the office's time zone, with its offset."""
    if not text:
        return ""
    moment = datetime.fromisoformat(text).astimezone(settings.zone)
    return f"{moment:%Y-%m-%d %H:%M} (UTC{moment:%z})".replace("00)", ")").replace("(UTC+0)", "(UTC)")


def serve_portal(settings: Settings, registry: Registry, host: str, port: int, secure_cookies: bool = False) -> None:
    """Serve the portal until stopped (Ctrl-C or SIGTERM)."""
    import uvicorn

    app = create_app(settings, registry, secure_cookies)
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
    uvicorn.Server(config).run()
