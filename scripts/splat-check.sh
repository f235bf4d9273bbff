#!/bin/bash
# Fail (exit 1) when a kernel log shows any splat; print the lines found.
set -u
patterns=(
	'BUG:' 'WARNING:' 'Oops' 'Kernel panic' 'general protection fault'
	'KASAN' 'UBSAN' 'unreferenced object' 'kmemleak: .*disabled'
	'suspected memory leak'
	'refcount_t:' 'possible recursive locking' 'circular locking'
	'inconsistent lock state' 'suspicious RCU usage'
	'rcu: INFO:' 'detected stall' 'blocked for more than' 'soft lockup'
	'hard LOCKUP' 'list_add corruption' 'list_del corruption'
	'ODEBUG:' 'Call Trace:'
)
re=$(IFS='|'; echo "${patterns[*]}")
if grep -E -n "$re" "$1" >/tmp/splat.$$ 2>/dev/null; then
	head -40 /tmp/splat.$$ >&2
	rm -f /tmp/splat.$$
	exit 1
fi
rm -f /tmp/splat.$$
exit 0
