#!/usr/bin/env bash
# build.sh OUT: builds kube-apiserver and kube-controller-manager v1.20.2 into OUT/bin from Debian's
# `kubernetes` source package (upstream tree 1.20.2 in kubernetes_1.20.5+really1.20.2.orig.tar.gz).
#
# Why Debian's Go 1.19, by full path: this Go 1.15-era tree needs the two fixes below for any Go >= 1.16, and
# Go >= 1.23 refuses some of its vendored //go:linkname uses; a newer `go` on PATH is never used for it.
# Lines starting with "step:" are what `make tools` shows; everything else goes to the part's build log.
# Env (set by observability/local/parts.py): PART_VERSION, PART_CACHE (~/.cache/observability).
set -euo pipefail

OUT=$(realpath "$1")
VERSION=${PART_VERSION:-1.20.2}
CACHE=${PART_CACHE:-$HOME/.cache/observability}
HERE=$(cd "$(dirname "$0")" && pwd)
GO=/usr/lib/go-1.19/bin/go
# The upstream tree, as Debian's archive signs it (Checksums-Sha256 of the .dsc); Debian revisions of the
# package (+deb12uN) keep this orig tarball, so a new revision still builds the same source.
ORIG=kubernetes_1.20.5+really1.20.2.orig.tar.gz
ORIG_SHA256=b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc
DOWNLOADS=$CACHE/downloads/kubernetes-deb-src
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2

step() { echo "step: $*"; }

[ -x "$GO" ] || { echo "$GO is missing: apt-get install golang-1.19-go (scripts/system-deps.sh)" >&2; exit 1; }
[ -d "$REFLECT2" ] || { echo "$REFLECT2 is missing: apt-get install golang-github-modern-go-reflect2-dev" >&2; exit 1; }

mkdir -p "$CACHE/tmp" "$DOWNLOADS"
WORK=$(mktemp -d "$CACHE/tmp/kube-apiserver-1.20.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if ! echo "$ORIG_SHA256  $DOWNLOADS/$ORIG" | sha256sum -c --status 2>/dev/null; then
  step "download Debian's kubernetes source package (34 MB) with apt-get source"
  # A private deb-src list on this machine's own Debian mirror and suite, so the system's apt state is untouched.
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  suite=$(awk '/^Suites:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$suite" ] || suite=$(awk '$1 == "deb" {print $3; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] && [ -n "$suite" ] || { echo "no Debian mirror found in /etc/apt/sources.list(.d)" >&2; exit 1; }
  mkdir -p "$WORK/apt/lists/partial"
  printf 'deb-src %s %s main\n' "$uri" "$suite" > "$WORK/apt/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$WORK/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$WORK/apt/lists")
  apt-get "${apt_opts[@]}" update -q
  (cd "$DOWNLOADS" && apt-get "${apt_opts[@]}" source --download-only kubernetes)
  echo "$ORIG_SHA256  $DOWNLOADS/$ORIG" | sha256sum -c \
    || { echo "$DOWNLOADS/$ORIG is not the pinned kubernetes 1.20.2 tree (sha256 differs)" >&2; exit 1; }
fi

step "unpack the kubernetes $VERSION tree"
TREE=$WORK/gopath/src/k8s.io/kubernetes
mkdir -p "$TREE"
tar xzf "$DOWNLOADS/$ORIG" -C "$TREE" --strip-components=1
cd "$TREE"

step "fix vendor/modules.txt for Go >= 1.16; swap vendored reflect2 1.0.1 (crashes on Go >= 1.18) for Debian's 1.0.2"
python3 "$HERE/fix_modules_txt.py" vendor/modules.txt
rm -rf vendor/github.com/modern-go/reflect2
cp -r "$REFLECT2" vendor/github.com/modern-go/reflect2
rm -f vendor/github.com/modern-go/reflect2/go.mod

export GOTOOLCHAIN=local GOFLAGS=-mod=vendor GOPROXY=off GOSUMDB=off CGO_ENABLED=0
export GOCACHE=$CACHE/go-build-1.19

step "generate the OpenAPI definitions (openapi-gen, as hack/update-generated-openapi.sh would)"
"$GO" build -o "$WORK/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
# Every package of the tree (staging seen through vendor/, as the build sees it) tagged +k8s:openapi-gen.
packages=$(
  for top in */; do
    case $top in vendor/ | _*) continue ;; esac
    grep -rlE --include='*.go' '^// *\+k8s:openapi-gen=' "$top" || true
  done | sed -e 's|^staging/src/|vendor/|' -e 's|/[^/]*$||' \
       | grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' \
       | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd,
)
[ -n "$packages" ] || { echo "no +k8s:openapi-gen packages found in the tree" >&2; exit 1; }
# openapi-gen of this era resolves packages in GOPATH mode.
env -u GOFLAGS GO111MODULE=off GOPATH="$WORK/gopath" "$WORK/openapi-gen" \
  -i "$packages" -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
  -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt -r "$WORK/api-rule-violations.report"
[ -s pkg/generated/openapi/zz_generated.openapi.go ] || { echo "openapi-gen wrote nothing" >&2; exit 1; }

# What hack/lib/version.sh stamps into a release build, so /version answers v1.20.2.
minor=$(echo "$VERSION" | cut -d. -f2)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=v$VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
mkdir -p "$OUT/bin"
for command in kube-apiserver kube-controller-manager; do
  step "go build $command (Go 1.19, the longest step)"
  "$GO" build -trimpath -ldflags "$ldflags" -o "$OUT/bin/$command" "./cmd/$command"
done
"$OUT/bin/kube-apiserver" --version
step "built $OUT/bin"
