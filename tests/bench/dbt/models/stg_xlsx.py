"""The rows of the inbox's workbooks (sheet `data`), every cell text, with the file's name."""

import glob
import os

import pandas as pd


def model(dbt, session):
    dbt.config(materialized="table")
    frames = []
    for path in sorted(glob.glob(os.path.join(os.environ["CTIP_BENCH_INBOX"], "*.xlsx"))):
        frame = pd.read_excel(path, sheet_name="data", dtype=str, engine="calamine")
        frames.append(frame.assign(filename=path))
    if not frames:
        return pd.DataFrame({"filename": pd.Series([], dtype=str)})
    return pd.concat(frames, ignore_index=True)
