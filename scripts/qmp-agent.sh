#!/bin/bash
# Serve the guest's QMP requests: the guest drops RESULTS/qmp/NAME.req (one
# QMP command as JSON); the reply goes to RESULTS/qmp/NAME.resp.  Runs until
# the QEMU process (PID) exits.
set -u
results=$1
qemu=$2
sock=$results/qmp.sock

while kill -0 "$qemu" 2>/dev/null; do
	for req in "$results"/qmp/*.req; do
		[ -e "$req" ] || continue
		resp=${req%.req}.resp
		# A QEMU busy with a loaded guest may answer late: try again
		# (the commands the guest sends are idempotent).
		for wait in 0.5 2 5; do
			{ echo '{"execute":"qmp_capabilities"}'; cat "$req"; sleep $wait; } |
				socat -t 2 - UNIX-CONNECT:"$sock" 2>&1 |
				grep -E '"(return|error)"' | tail -n 1 >"$resp.tmp"
			[ -s "$resp.tmp" ] && break
		done
		rm -f "$req"
		mv "$resp.tmp" "$resp"
	done
	sleep 0.2
done
