# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PERIOD ?= 2019-S1

.PHONY: run test bench docs docs-images install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,analyst]"

## Install, run the nightly job on data/inbox/ and print the comparison table.
run: install
	$(BIN)/ctip run
	$(BIN)/ctip compare $(PERIOD)

## Install with the test extras, check the code with ruff, then run the whole suite, one worker per core
## (single tests spread over the workers; tests that share a Prefect server or a fixture of their file stay together).
test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n auto --dist loadgroup

## Scale benchmarks (not part of `make test`).
bench: install-test
	$(BIN)/python -m pytest -q -m bench -s

## Regenerate docs/data_dictionary.md: `ctip describe` of an empty warehouse built in a temporary folder.
docs: install
	@tmp=$$(mktemp -d) && \
	CTIP_WAREHOUSE="$$tmp/ctip.duckdb" $(BIN)/ctip describe --format markdown > "$$tmp/data_dictionary.md"; \
	status=$$?; \
	if [ $$status -eq 0 ]; then mkdir -p docs && cp "$$tmp/data_dictionary.md" docs/data_dictionary.md; fi; \
	rm -rf "$$tmp"; exit $$status

## Regenerate docs/report-km.png: the Khmer report as Debian's chromium draws it with fonts-khmeros (the test that
## checks the Khmer font takes the picture; `make test` keeps its pictures in temporary folders).
docs-images: install-test
	CTIP_DOCS_IMAGES="$(CURDIR)/docs" $(BIN)/python -m pytest -q \
		"tests/flows/test_report_khmer.py::test_the_khmer_report_is_drawn_with_a_khmer_font"

clean:
	rm -rf $(VENV) warehouse/ctip.duckdb warehouse/ctip.duckdb.*
