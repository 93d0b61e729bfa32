"""The `ctip` command line (Typer and Rich). Exit statuses follow the warehouse contract.

- `flows/cli/common.py`: what the commands share (consoles, options, wrong usage, settings, the inbox and
  warehouse checks); it imports no command.
- the commands: `flows/cli/nightly.py` (run, serve, backfill), `flows/cli/analyst.py` (validate, compare,
  submissions, findings), `flows/cli/portal.py` (template, portal), and flows/claims.py, describe.py,
  export.py, report.py, generate.py and accounts.py; each imports `flows.cli.common`, never the app.
- `flows/cli/main.py`: the app, which registers every command.

`app` (the `ctip` entry point) is taken from `flows/cli/main.py` when it is first asked for, so that importing
this package or its shared module loads no command.
"""


def __getattr__(name: str):
    if name == "app":
        from flows.cli.main import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
