#!/bin/bash
# Runs inside the test VM for `make check`: the KUnit suites (read as KTAP
# from debugfs), then every selftests/*.sh.  Results go to $CHIMNEY_RESULTS:
# kunit/SUITE.ktap, selftests/NAME.ktap, NAME.rc and NAME.seconds (the
# KUnit suites' own seconds are read from the console's timestamps).
set -u
root=$CHIMNEY_ROOT
res=$CHIMNEY_RESULTS
mkdir -p "$res/kunit" "$res/selftests"
filter=${CHIMNEY_TESTS:-}

# failslab fails every slab allocation of a task that asks for it
# (current->make_it_fail), no other: KUnit cases that run short of memory.
failslab_for_tasks() {
	local f=/sys/kernel/debug/failslab
	[ -d $f ] || return 0
	echo Y >$f/task-filter
	echo N >$f/ignore-gfp-wait
	echo 100 >$f/probability
	echo 1 >$f/interval
	echo -1 >$f/times
	echo 0 >$f/verbose
}

run_kunit() {
	failslab_for_tasks
	if ! insmod "$root/drivers/net/chimney/chimney.ko"; then
		echo "not ok 1 insmod chimney.ko" >"$res/kunit/insmod.ktap"
		return
	fi
	# CHIMNEY_KUNIT_GLOB=suite.case (globs): only those cases (while working
	# on them).
	[ -n "${CHIMNEY_KUNIT_GLOB:-}" ] &&
		printf %s "$CHIMNEY_KUNIT_GLOB" >/sys/module/kunit/parameters/filter_glob
	if insmod "$root/kunit/chimney_kunit.ko"; then
		for d in /sys/kernel/debug/kunit/chimney_*; do
			[ -e "$d/results" ] || continue
			cp "$d/results" "$res/kunit/$(basename "$d").ktap"
			grep -E '^    (not )?ok ' "$d/results" | sed "s/^    /  $(basename "$d"): /"
		done
		rmmod chimney_kunit || echo "not ok 1 rmmod chimney_kunit" >"$res/kunit/rmmod.ktap"
	else
		echo "not ok 1 insmod chimney_kunit.ko" >"$res/kunit/insmod.ktap"
	fi
	rmmod chimney || echo "not ok 1 rmmod chimney" >"$res/kunit/rmmod-chimney.ktap"
}

# CHIMNEY_NO_KUNIT=1: only the selftests (while working on one of them).
if [ -n "${CHIMNEY_NO_KUNIT:-}" ]; then
	echo "== KUnit skipped (CHIMNEY_NO_KUNIT)"
	echo "ok 1 skipped # SKIP CHIMNEY_NO_KUNIT" >"$res/kunit/skipped.ktap"
else
	echo "== KUnit"
	run_kunit
fi

for t in "$root"/selftests/*.sh; do
	name=$(basename "$t" .sh)
	[ "$name" = lib ] && continue
	[ -n "$filter" ] && ! grep -qw "$name" <<<"$filter" && continue
	echo "== selftest $name"
	# A test that failed may leave the module pinned by closing sockets a
	# while: the next one starts without it, or says why not.
	for _ in $(seq 120); do
		grep -q '^chimney ' /proc/modules || break
		rmmod chimney 2>/dev/null || sleep 1
	done
	grep -q '^chimney ' /proc/modules &&
		echo "# chimney.ko still loaded 120 s after the previous test" >&2
	for _ in $(seq 120); do
		ip link show eth0 >/dev/null 2>&1 && ip link show eth1 >/dev/null 2>&1 && break
		sleep 1
	done
	t0=$SECONDS
	timeout "${CHIMNEY_TEST_TIMEOUT:-1200}" bash "$t" >"$res/selftests/$name.ktap" 2>"$res/selftests/$name.err"
	echo $? >"$res/selftests/$name.rc"
	echo $((SECONDS - t0)) >"$res/selftests/$name.seconds"
	grep -E '^(not )?ok ' "$res/selftests/$name.ktap" | sed "s/^/  $name: /"
done
exit 0
