# The one test command: installs the test servers when missing, then runs
# every test with the race detector and the integration tests required.
GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test lint unit bench bench-peers fuzz
test: lint
	./.ci/install-test-deps
	CALPRESENCE_INTEGRATION=1 $(GO) test -race -count=1 -timeout 12m ./...

lint:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: the files above need formatting" >&2; exit 1)
	$(GO) vet ./...
	$(STATICCHECK) ./...

unit:
	$(GO) test ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# events -json against ical.js and python recurring-ical-events, whole
# process, median of 5 (installs the peers when missing).
bench-peers:
	./calendar/testdata/peers/bench.sh
