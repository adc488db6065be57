# The two commands of the README: `make demo` (the main job) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Extras the test suite needs: everything.
EXTRAS := local,embed,rm,train,hf,eval,ray,serve,dev
# The stamp changes with the project's dependencies, the llama.cpp build script and flags, and
# LONGJUDGE_LLAMA_CMAKE_ARGS (README, "Unusual CPUs"), so changing any of them reinstalls.
STAMP  := $(VENV)/.installed-$(shell (cat pyproject.toml scripts/build-llama-wheel \
	src/longjudge/judges/llama_build.py; echo "$$LONGJUDGE_LLAMA_CMAKE_ARGS") | cksum | cut -d' ' -f1)

.PHONY: test demo train-demo install lint typecheck bench clean

$(STAMP): pyproject.toml scripts/build-llama-wheel src/longjudge/judges/llama_build.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU wheel first: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# llama.cpp for a portable CPU baseline, built once into .wheels/ (never a native build,
	# never a wheel pip cached from one): see src/longjudge/judges/llama_build.py.
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps "$$(scripts/build-llama-wheel $(BIN)/python)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Score the bundled example, then show one candidate in detail and write an HTML report.
# Exit code 3 means "finished, some candidates unscored": the reasons are printed, the demo
# still did its job.
DEMO_RUN := runs/demo
demo: $(STAMP)
	@$(BIN)/longjudge score examples/longreward/sft.jsonl \
		--responses examples/longreward/sampled_responses.jsonl \
		--judge local/gemma-3-270m --config examples/demo.yaml --out $(DEMO_RUN); \
	rc=$$?; if [ $$rc -eq 3 ]; then echo "(some candidates unscored; reasons above)"; rc=0; fi; \
	[ $$rc -eq 0 ] || exit $$rc; \
	echo; $(BIN)/longjudge show $(DEMO_RUN) && echo && \
	$(BIN)/longjudge report $(DEMO_RUN) --out $(DEMO_RUN)/report.html

# DPO + 0.1·CE on a laptop CPU: a tiny random model (built here from a config, its tokenizer
# trained on the pairs' text) trained for a few steps on the pairs of `make demo`'s run. The
# ~9k-token prompt has its context cut to fit max_length 1024; both loss terms are printed.
# The small demo judge often ties every response (ties make no pair): then scripts/demo-pair
# writes one reference-answer-vs-sample pair instead, and says so.
train-demo: $(STAMP)
	@test -f runs/demo/rewards.jsonl || $(MAKE) demo
	$(BIN)/longjudge pairs runs/demo --out runs/demo/pairs.jsonl
	@test -s runs/demo/pairs.jsonl || $(BIN)/python scripts/demo-pair runs/demo/pairs.jsonl
	$(BIN)/longjudge tiny-lm runs/tiny-lm --corpus runs/demo/pairs.jsonl
	$(BIN)/longjudge train runs/demo/pairs.jsonl --model runs/tiny-lm --out runs/train-demo \
		--config examples/train-demo.yaml

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache
