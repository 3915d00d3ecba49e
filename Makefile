# The two commands of the README: `make demo` and `make test`. Everything else is set-up.
# Needs only python3, pip and make: uv is installed with pip when it is missing.

UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
RUN := $(UV) run --locked --no-sync

.PHONY: setup demo test test-distributed test-fast bench clean help

help:
	@echo "make demo   run the whole example mesh on embedded defaults"
	@echo "make test   run the test suite"
	@echo "make test-distributed  the end-to-end test on PostgreSQL, Redis and two Celery workers"
	@echo "make bench  run the benchmarks (prints medians and ratios)"

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --locked
	@touch $@

# The project's own packages are compiled to bytecode as uv compiles the installed ones
# (`[tool.uv] compile-bytecode`): where PYTHONDONTWRITEBYTECODE is set, nothing else writes it.
# Only changed files are compiled again.
setup: .venv/.synced
	@$(RUN) python -m compileall -q assets governance meshctl webapp >/dev/null

demo: setup
	$(RUN) mesh demo

# The tests without Airflow on two workers, then the real-Airflow tests alone (their scheduler
# gets the machine to itself). Each prints its slowest tests: where the suite's time goes.
test: setup
	$(RUN) lint-imports --no-cache
	$(RUN) mypy
	$(RUN) pytest -n 2 -m "not airflow and not distributed" --durations=15
	$(RUN) pytest -m "airflow and not distributed" --durations=10

# The end-to-end test on the distributed profile. PostgreSQL and Redis: MESH_PG_URL and
# MESH_REDIS_URL, or installed (Debian's packages) and started on loopback for the run.
test-distributed: setup
	$(RUN) pytest -m distributed tests/airflow --durations=10

bench: setup
	$(RUN) python -m bench

clean:
	rm -rf .mesh .pytest_cache
