# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000

.PHONY: run test lint install bench translations translations-status

# Reinstall when the package metadata changes; the marker files keep repeat runs fast.
$(BIN)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(BIN)/.installed-bench: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

$(BIN)/.installed-demo: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

install: $(BIN)/.installed

# Compiled catalogues are build output (git-ignored): each .mo is made beside its .po
# whenever the .po changes. Fuzzy entries are left out, so a guess is never shown.
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel -q compile -i $< -o $@

translations: $(CATALOGUES:.po=.mo)

# After merging branches that add strings: re-extract, update every catalogue, and list
# what still needs translating (README, "Languages").
translations-status: $(BIN)/.installed
	$(BIN)/python scripts/i18n_status.py --update

SINK_PORT ?= 8025

# The local demo: plain http on 127.0.0.1, so cookies cannot be marked Secure. The worker
# runs beside the web server and sends notices to a local SMTP sink that prints them;
# Ctrl+C (or SIGTERM to make's process group) stops all three cleanly: app/demo/run.py
# says why a shell trap could not.
run: $(BIN)/.installed-demo translations
	UGLYMUGS_INSECURE_COOKIES=1 $(BIN)/flask --app app demo-setup
	@$(BIN)/python -m app.demo.run --port $(PORT) --sink-port $(SINK_PORT)

# ruff; the import contracts in setup.cfg; strict types for the two packages that hold
# keys and plaintext, plain types for the rest.
lint: $(BIN)/.installed-test
	$(BIN)/ruff check .
	PYTHONPATH=. $(BIN)/lint-imports
	$(BIN)/mypy --strict crypto app/vault
	$(BIN)/mypy app

# The suite on every core (pytest-xdist); tests that share something outside their own
# temporary folder name an xdist_group and run on one worker, one after the other.
# Bytecode is written even where the environment says not to (this machine's image sets
# PYTHONDONTWRITEBYTECODE): otherwise each worker re-rewrites every test module's asserts
# and every process a test starts compiles the app again, a fifth of the suite's time.
test: lint translations
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n auto --dist loadgroup

# The figures of issue 12, each against a baseline measured in the same run (README,
# "Benchmarks"). Makes its own scratch keys and database; about five minutes.
bench: $(BIN)/.installed-bench
	$(BIN)/python -m bench
