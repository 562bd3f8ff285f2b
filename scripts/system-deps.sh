#!/usr/bin/env bash
# Installs the Debian packages the tests and the local demo need, only when missing. The real parts built
# from source (Kafka, Prometheus 3, kube-apiserver, ...) are `make tools` (observability/local/parts.py).
set -euo pipefail

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
command -v go >/dev/null || need+=(golang-go)
command -v etcd >/dev/null || need+=(etcd-server)
# kube-apiserver v1.20 (tools/kube-apiserver-1.20) is built with Debian's Go 1.19 and its reflect2 package
[ -x /usr/lib/go-1.19/bin/go ] || need+=(golang-1.19-go)
[ -d /usr/share/gocode/src/github.com/modern-go/reflect2 ] || need+=(golang-github-modern-go-reflect2-dev)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)

if [ ${#need[@]} -gt 0 ]; then
  # shellcheck disable=SC2207
  need=($(printf '%s\n' "${need[@]}" | sort -u))
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  here=$(dirname "$0")
  bash "$here/step.sh" "apt-get update (Debian package lists)" $SUDO apt-get update -q
  bash "$here/step.sh" "apt-get install ${need[*]}" \
    env DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
else
  echo "setup: Debian packages: all present"
fi
