#!/usr/bin/env bash
# The CPU instructions one operation costs, counted by valgrind (callgrind) rather than timed, so
# that a figure repeats on a busy machine. COMMAND runs twice under callgrind, with OPS=N1 and then
# OPS=N2 in its environment, and must perform its operation OPS times after the same set-up;
# the difference of the two totals over N2 - N1 is one operation, start-up and set-up cancelled.
#   usage: bench/instructions_per_op.sh N1 N2 COMMAND [ARGS...]
#   e.g.   bench/instructions_per_op.sh 20 120 .venv/bin/python bench/redirect_rules.py --scenario rules
# Python runs some 50 times slower under valgrind: keep N1 and N2 to tens or hundreds.
# Needs valgrind (apt-get install -y valgrind).
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
n1=$1
n2=$2
shift 2
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install -y valgrind)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

total() {
  # Every process the command starts is counted (an interpreter behind a wrapper script, say).
  if ! OPS=$1 PYTHONHASHSEED=0 valgrind --tool=callgrind --trace-children=yes \
      --callgrind-out-file="$work/run$1.%p" "${@:2}" >/dev/null 2>"$work/err$1"; then
    tail -n 5 "$work/err$1" >&2
    exit 1
  fi
  cat "$work"/run"$1".* | awk '/^summary:/ { sum += $2 } END { printf "%d", sum }'
}

low=$(total "$n1" "$@")
high=$(total "$n2" "$@")
python3 -c "
low, high, n1, n2 = $low, $high, $n1, $n2
print(f'instructions per op: {(high - low) / (n2 - n1):,.0f}  (total {low:,} at {n1} ops, {high:,} at {n2})')
"
