# ciel-node: `make run` sets up and starts the node; `make test` sets up and runs the whole suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests talk to (real peers and real media tools).
APT_TEST := sox libsox-fmt-all ffmpeg espeak-ng libportaudio2 puredata-core liblo-tools \
	openssh-client openssh-server chromium firefox-esr nginx libnginx-mod-nchan redis-server wrk nodejs pulseaudio \
	pulseaudio-utils libasound2-plugins libvo-amrwbenc0
# Debian packages the node needs at run time (sounddevice loads PortAudio, which reaches PulseAudio
# through ALSA's pulse plugin; npm fetches A-Frame once).
APT_RUN := libportaudio2 libasound2-plugins
ARGS ?=

.PHONY: run test lint docs archive checkpoints bench clean system-run system-test

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	# Pinned first, so pip takes the local CPU wheel and never resolves a CUDA build.
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@if $(BIN)/pip list 2>/dev/null | grep -qi '^nvidia'; then \
		echo "error: a CUDA package was installed into $(VENV); remove it and pin torch==2.13.0" >&2; exit 1; fi
	touch $@

system-run:
	@scripts/system-deps.sh $(APT_RUN)

# The page's A-Frame (and playwright-core for the browser tests) from the npm registry, once;
# the node then serves them itself, so the page needs no internet.
WEB_STAMP := web/node_modules/.installed
$(WEB_STAMP): web/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install -y nodejs npm" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-test:
	@scripts/system-deps.sh $(APT_TEST)

run: $(STAMP) system-run $(WEB_STAMP)
	@echo "ciel-node is in $(BIN): 'source $(BIN)/activate' puts it on PATH"
	$(BIN)/ciel-node run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check ciel_node tests bench
	$(BIN)/mypy ciel_node

# The README's address table, from the declared parameters (ciel_node/params.py).
docs: $(STAMP)
	$(BIN)/python -m ciel_node.params --readme README.md
	$(BIN)/python -m ciel_node.bends --readme README.md

test: $(STAMP) system-test lint $(WEB_STAMP)
	$(BIN)/pytest -q --durations=30

# The project's own found archive, then the shipped checkpoints trained on it (see checkpoints/README.md).
ARCHIVE := build/found-archive
MINUTES ?= 10
archive: $(STAMP)
	$(BIN)/ciel-node archive $(ARCHIVE) --seed 0

checkpoints: archive
	$(BIN)/ciel-node crack $(ARCHIVE) --minutes $(MINUTES) --out checkpoints

bench: $(STAMP) system-test
	$(BIN)/python bench/run.py
	$(BIN)/python bench/osc.py
	$(BIN)/python bench/osc_apply.py
	$(BIN)/python bench/osc.py --address '/ciel/dri?t'
	$(BIN)/python bench/oscquery.py
	$(BIN)/python bench/ssh.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/playback.py
	$(BIN)/python bench/bend.py
	$(BIN)/python bench/steer.py

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
