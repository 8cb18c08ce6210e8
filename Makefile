# The two set-up commands of the README:
#   make run   installs what is missing, builds a release onda and starts `onda serve`
#   make test  installs what is missing (test peers too), builds and runs every test
# Other targets: build, debug-test (ASan+UBSan), fuzz (every parser's fuzz target for 2 minutes),
# bench, format, format-check, clean.

JOBS ?= 2
ARGS ?=

.PHONY: run test build deps test-deps debug-test fuzz bench format format-check clean

deps:
	./scripts/install-deps.sh

# npm ci: tus-js-client, socket.io-client, ws, hls.js and playwright-core for tests/e2e/js.
test-deps:
	./scripts/install-deps.sh --with-tests
	cd tests/e2e/js && npm ci --no-audit --no-fund --loglevel=error

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

run: build
	./build/release/src/onda serve $(ARGS)

test: test-deps format-check
	cmake --preset ci >/dev/null
	cmake --build --preset ci -j $(JOBS)
	ctest --preset ci

debug-test: test-deps
	cmake --preset debug >/dev/null
	cmake --build --preset debug -j $(JOBS)
	ctest --preset debug

# `make test` runs the same targets for 10 s each; this runs them one after another for longer.
fuzz: test-deps
	./tests/fuzz/build.sh build/fuzz
	./tests/fuzz/run.sh build/fuzz 120

bench: deps
	cmake --preset bench >/dev/null
	cmake --build --preset bench -j $(JOBS)

format:
	git ls-files 'src/*.[ch]pp' 'tests/*.[ch]pp' 'bench/*.[ch]pp' | xargs clang-format -i

# Fails when a file is not formatted as .clang-format says (run `make format` to fix).
format-check:
	git ls-files 'src/*.[ch]pp' 'tests/*.[ch]pp' 'bench/*.[ch]pp' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build
