#!/usr/bin/env bash
# Builds alertmanager and amtool from the module pinned in go.mod/go.sum (called by parts.py as `build.sh OUT`).
#
# Why a script and not kind "go": Alertmanager's ui/web.go has `//go:embed app/dist`, but the module zip has
# no app/dist (upstream builds it with npm/elm before `go build`), so `go build` of the module fails with
# "pattern app/dist: no matching files found", and go refuses -overlay files under GOMODCACHE. So this copies
# the verified module source out of the cache, puts one placeholder page where the web UI would be, and builds
# there with Alertmanager's own go.mod/go.sum (the dependency versions of the release). The API is complete.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
export GOMODCACHE="$PART_CACHE/go-mod" GOCACHE="$PART_CACHE/go-build"
module=github.com/prometheus/alertmanager
version=v$PART_VERSION

# go.sum in this directory pins the module's hash: go verifies the download against it.
src=$(cd "$here" && go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "go mod download $module gave no directory" >&2; exit 1; }
grep -q "$module $version " "$here/go.mod" || { echo "go.mod does not pin $module $version" >&2; exit 1; }

work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$src/." "$work"
chmod -R u+w "$work"
for ui in elm mantine; do
  mkdir -p "$work/ui/app/dist/$ui"
  echo "<!doctype html><title>Alertmanager</title><p>Web UI not built (its npm assets are not part of the Go module); the API under /api/v2 is complete." \
    >"$work/ui/app/dist/$ui/index.html"
done

ldflags="-s -w -X github.com/prometheus/common/version.Version=$PART_VERSION -X github.com/prometheus/common/version.Branch=release"
cd "$work"
for binary in alertmanager amtool; do
  go build -trimpath -ldflags "$ldflags" -o "$out/bin/$binary" "./cmd/$binary"
done
