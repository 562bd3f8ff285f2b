#!/usr/bin/env bash
# step.sh LABEL COMMAND...: runs one setup step, saying what it does before and how long it took after.
# The command's own output goes to a log under ${TMPDIR:-/tmp} and is shown only when it fails.
set -uo pipefail
label=$1; shift
log=$(mktemp "${TMPDIR:-/tmp}/obs-step.XXXXXX")
start=$(date +%s)
echo "setup: $label ..."
if "$@" >"$log" 2>&1; then
  echo "setup: $label: done in $(( $(date +%s) - start )) s"
  rm -f "$log"
else
  rc=$?
  echo "setup: $label: FAILED after $(( $(date +%s) - start )) s (exit $rc); its output:" >&2
  tail -n 40 "$log" >&2
  echo "setup: full log: $log" >&2
  exit "$rc"
fi
