#!/usr/bin/env bash
# Installs the Debian packages the tests and the local demo need, only when missing, and builds the
# real Kubernetes API server (kapi, cached in ~/.cache/kapi) used by the end-to-end cluster tests.
set -euo pipefail

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/gin-gonic/gin ] || need+=(golang-github-gin-gonic-gin-dev)
[ -d /usr/share/gocode/src/go.uber.org/zap ] || need+=(golang-go.uber-zap-dev)
[ -d /usr/share/gocode/src/github.com/prometheus/client_golang ] || need+=(golang-github-prometheus-client-golang-dev)
command -v etcd >/dev/null || need+=(etcd-server)
command -v openssl >/dev/null || need+=(openssl)

if [ ${#need[@]} -gt 0 ]; then
  # shellcheck disable=SC2207
  need=($(printf '%s\n' "${need[@]}" | sort -u))
  echo "system-deps: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "${SKIP_KAPI:-}" != "1" ]; then
  KAPI=${KAPI:-$(cd "$(dirname "$0")/.." && pwd)/../shared/tools/kapi}
  if [ -x "$KAPI" ]; then
    "$KAPI" build
  else
    echo "system-deps: $KAPI not found; the end-to-end cluster tests will skip (set KAPI=/path/to/kapi)"
  fi
fi
