# Tweedie: the two commands a newcomer needs are `make test` and `make generate`.
APT_PACKAGES := libopenblas-dev libdnnl-dev libfftw3-dev libpng-dev zlib1g-dev pkg-config dataset-fashion-mnist mricron-data
CONFIG ?= release
SWIFT_FLAGS := -c $(CONFIG)

.PHONY: deps build test generate bench clean

# Installs the Debian packages the build links against, only when one is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y $$missing; \
	  else sudo apt-get update && sudo apt-get install -y $$missing; fi; \
	fi

build: deps
	swift build $(SWIFT_FLAGS) --product tweedie

# The tests run under the OpenBLAS kernel the CLI itself would choose (`tweedie info --openblas-core`, after its core
# guard), so a test that compares the library with a `tweedie` child process compares like with like; a kernel set
# in the environment is kept.
test: deps
	swift build $(SWIFT_FLAGS) --build-tests
	OPENBLAS_CORETYPE="$${OPENBLAS_CORETYPE:-$$(.build/$(CONFIG)/tweedie info --openblas-core)}" \
	  swift test $(SWIFT_FLAGS) --skip-build --disable-swift-testing

bench: deps
	bash bench/run

clean:
	rm -rf .build
