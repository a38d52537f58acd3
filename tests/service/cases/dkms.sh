#!/bin/bash
# Service tier: the packages as a user meets them.
#   boot 1: apt-get install sgnic-dkms (DKMS builds sgnic.ko against this
#           kernel's headers), modprobe, sgnic0/sgnic1; install sgnicd, check
#           its unit, D-Bus files and hardening score; sgnicd is active, steers
#           ping between two namespaces as sgnicctl says, logs start, ready and
#           a rehash to the journal, keeps its rules across a restart and an
#           upgrade to a newer package version (a ping stream at a drop rule
#           gets no reply, the rule counts every request, the kernel sees no
#           rule operation), and refuses changes from an unprivileged user;
#           reboot.
#   boot 2: sgnic was loaded at boot by systemd-modules-load (modules-load.d);
#           sgnicd put the rules back by itself; apt-get remove of both
#           packages stops the service and removes the module from DKMS.
set -u
. ./lib.sh
export DEBIAN_FRONTEND=noninteractive
rel=$(uname -r)
apt_offline=(-y -q -o Dpkg::Use-Pty=0)

case "$1" in
1)
	step "install sgnic-dkms on $rel (DKMS builds the module here)"
	t0=$SECONDS
	run apt-get install "${apt_offline[@]}" "$PWD"/sgnic-dkms_*_all.deb
	echo "install with DKMS build: $((SECONDS - t0))s"
	status=$(dkms status sgnic)
	echo "$status"
	[[ $status == "sgnic/"*", $rel, x86_64: installed"* ]] || fail "dkms status: '$status'"
	ko=$(modinfo -F filename sgnic) || fail "modinfo sgnic finds no module"
	[[ $ko == /lib/modules/$rel/* || $ko == /usr/lib/modules/$rel/* ]] || fail "sgnic is $ko"
	echo "module: $ko ($(modinfo -F vermagic sgnic))"
	expect_eq "modules-load.d entry" sgnic "$(grep -v '^#' /usr/lib/modules-load.d/sgnic.conf)"

	step "modprobe sgnic"
	run modprobe sgnic
	run ip -br link show sgnic0
	run ip -br link show sgnic1

	step "install sgnicd"
	run apt-get install "${apt_offline[@]}" "$PWD"/sgnicd_*.deb
	for f in /lib/systemd/system/sgnicd.service \
		/usr/share/dbus-1/system.d/org.sgnic.Steering1.conf \
		/usr/share/dbus-1/system-services/org.sgnic.Steering1.service \
		/etc/sgnic/sgnicd.json; do
		[ -f "$f" ] || fail "$f is not installed"
	done
	expect_eq "sgnicd enabled" enabled "$(systemctl is-enabled sgnicd.service 2>&1)"

	step "systemd-analyze verify sgnicd.service"
	out=$(systemd-analyze verify sgnicd.service 2>&1)
	echo "$out"
	[ -z "$out" ] || fail "systemd-analyze verify is not clean"

	step "systemd-analyze security sgnicd.service"
	score=$(systemd-analyze security --no-pager sgnicd.service 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	echo "exposure $score"
	awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }' || fail "exposure '$score' > 2.0"

	step "D-Bus knows the name as activatable"
	names=$(busctl --system --no-pager --activatable list 2>&1)
	grep -q '^org\.sgnic\.Steering1 ' <<<"$names" || { echo "$names"; fail "org.sgnic.Steering1 not activatable"; }
	if journalctl -b -u dbus --no-pager | grep -i 'org.sgnic.Steering1.conf'; then
		fail "dbus-daemon complained about the policy file"
	fi

	step "sgnicd runs under systemd and says so in the journal"
	expect_eq "sgnicd active" active "$(systemctl is-active sgnicd.service)"
	journal=$(journalctl -b -u sgnicd --no-pager -o cat)
	echo "$journal"
	grep -q 'adopted (start)' <<<"$journal" || fail "no start adoption in the journal"
	grep -q 'serving org.sgnic.Steering1' <<<"$journal" || fail "no readiness line in the journal"
	run sgnicctl version
	run sgnicctl port list

	step "ping from netns a to sgnic1 is dropped by a rule added with sgnicctl"
	run ip netns add a
	run ip link set sgnic0 netns a
	run ip -n a addr add 10.20.0.1/24 dev sgnic0
	run ip -n a link set sgnic0 up
	run ip addr add 10.20.0.2/24 dev sgnic1
	run ip link set sgnic1 up
	run ip netns exec a ping -c 2 -W 2 10.20.0.2
	m=$(sgnicctl -j matcher create dev sgnic1 prio 1 match ip-proto,ipv4-src | jq -r .id)
	[ -n "$m" ] && [ "$m" != null ] || fail "matcher create printed no id"
	drop=$(sgnicctl -j rule add dev sgnic1 matcher "$m" dir rx ip-proto icmp ipv4-src 10.20.0.1 \
		action count drop | jq -r .id)
	if ip netns exec a ping -c 3 -W 1 10.20.0.2; then
		fail "ping passed the drop rule"
	fi
	hits=$(sgnicctl -j rule list dev sgnic1 | jq ".rules[] | select(.id == $drop) | .counters.rx_packets")
	[ "$hits" -ge 3 ] || fail "drop rule counted '$hits' packets, expected >= 3"
	echo "drop rule $drop counted $hits packets"

	step "12 more RX rules: the RX table rehashes, the journal says so with sizes"
	for i in $(seq 1 12); do
		echo "matcher $m dir rx ip-proto udp ipv4-src 10.30.0.$i action count"
	done >/tmp/rules.txt
	run sgnicctl rule load /tmp/rules.txt
	show=$(sgnicctl -j matcher show "$m")
	echo "$show" | jq -c '{rx: .rx.size_log, tx: .tx.size_log, rehashes}'
	[ "$(jq .rx.size_log <<<"$show")" -gt 1 ] || fail "RX did not grow"
	expect_eq "TX size_log (RX-only rules)" 1 "$(jq .tx.size_log <<<"$show")"
	journalctl -u sgnicd --no-pager -o cat | grep 'rehash matcher' ||
		fail "no rehash in the journal"

	step "systemctl restart sgnicd adopts every rule: no table operation, counters kept"
	before=$(sgnicctl -j rule list | jq -c '[.rules[].id] | sort')
	ops_before=$(sgnic-nl dev sgnic1 | jq .rule_ops)
	run systemctl restart sgnicd
	expect_eq "sgnicd active after restart" active "$(systemctl is-active sgnicd.service)"
	after=$(sgnicctl -j rule list | jq -c '[.rules[] | select(.installed) | .id] | sort')
	expect_eq "rules after restart" "$before" "$after"
	expect_eq "rule operations on sgnic1 across the restart" "$ops_before" \
		"$(sgnic-nl dev sgnic1 | jq .rule_ops)"
	hits_after=$(sgnicctl -j rule list dev sgnic1 | jq ".rules[] | select(.id == $drop) | .counters.rx_packets")
	[ "$hits_after" -ge "$hits" ] || fail "the drop rule's counter went from $hits to '$hits_after'"

	step "the adoption is a journal entry of its own, explained by the catalog"
	catalog=/usr/lib/systemd/catalog/sgnicd.catalog
	[ -f $catalog ] || fail "the message catalog is not installed"
	# The adoption's MESSAGE_ID, as the installed catalog names it (unit.Catalog
	# ties the catalog to what sgnicd sends).
	adopted=$(awk '/^-- / { id = $2 } /^Subject: sgnicd adopted/ { print id }' $catalog)
	[ -n "$adopted" ] || fail "the catalog has no entry for the adoption"
	entry=$(journalctl -u sgnicd MESSAGE_ID=$adopted -o json -n 1 --no-pager)
	echo "$entry" | jq -c '{MESSAGE, SGNIC_ADOPTED_RULES, SGNIC_ADDED_RULES, SGNIC_DELETED_RULES}'
	expect_eq "SGNIC_ADOPTED_RULES" 13 "$(jq -r .SGNIC_ADOPTED_RULES <<<"$entry")"
	expect_eq "SGNIC_ADDED_RULES" 0 "$(jq -r .SGNIC_ADDED_RULES <<<"$entry")"
	expect_eq "SGNIC_DELETED_RULES" 0 "$(jq -r .SGNIC_DELETED_RULES <<<"$entry")"
	explained=$(journalctl -x -u sgnicd MESSAGE_ID=$adopted -n 1 --no-pager)
	echo "$explained"
	grep -q "sgnicd adopted the kernel's steering state" <<<"$explained" ||
		fail "journalctl -x does not explain the adoption (catalog not indexed?)"
	by_matcher=$(journalctl -u sgnicd SGNIC_MATCHER="$m" -o cat --no-pager)
	grep -q "rehash matcher $m" <<<"$by_matcher" ||
		fail "journalctl SGNIC_MATCHER=$m does not find the matcher's rehash"
	if ip netns exec a ping -c 2 -W 1 10.20.0.2; then
		fail "ping passed the drop rule after the restart"
	fi

	step "upgrade sgnicd to a newer package version under a ping stream at the drop rule"
	# The newer version: the same package with a higher version, repacked
	# here; apt-get installs it as an upgrade, whose postinst restarts sgnicd.
	ver=$(dpkg-query -W -f '${Version}' sgnicd)
	rm -rf /tmp/v2
	run dpkg-deb -R "$PWD"/sgnicd_*.deb /tmp/v2
	sed -i "s/^Version: .*/Version: $ver+upgrade1/" /tmp/v2/DEBIAN/control
	run dpkg-deb -b /tmp/v2 /tmp/sgnicd_upgrade.deb
	pid0=$(systemctl show -P MainPID sgnicd.service)
	hits0=$(sgnicctl -j rule list dev sgnic1 | jq ".rules[] | select(.id == $drop) | .counters.rx_packets")
	ops0=$(sgnic-nl dev sgnic1 | jq .rule_ops)
	# 20 echo requests a second for 20 s, every one of them at the drop rule.
	ip netns exec a ping -q -i 0.05 -w 20 10.20.0.2 >/tmp/ping.out 2>&1 &
	pinger=$!
	sleep 3
	t0=$SECONDS
	run apt-get install "${apt_offline[@]}" /tmp/sgnicd_upgrade.deb
	echo "upgrade installed in $((SECONDS - t0))s"
	wait "$pinger" || true # no reply is ping's failure and this step's success
	cat /tmp/ping.out
	expect_eq "installed version" "$ver+upgrade1" "$(dpkg-query -W -f '${Version}' sgnicd)"
	expect_eq "sgnicd active after the upgrade" active "$(systemctl is-active sgnicd.service)"
	pid1=$(systemctl show -P MainPID sgnicd.service)
	[ "$pid1" != "$pid0" ] || fail "the upgrade did not restart sgnicd (pid $pid0)"
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1/p' /tmp/ping.out)
	expect_eq "echo replies through the upgrade (the drop rule never absent)" 0 \
		"$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\2/p' /tmp/ping.out)"
	[ "${sent:-0}" -ge 200 ] || fail "ping sent only '$sent' requests"
	hits1=$(sgnicctl -j rule list dev sgnic1 | jq ".rules[] | select(.id == $drop) | .counters.rx_packets")
	expect_eq "the drop rule counted every request (was $hits0)" $((hits0 + sent)) "$hits1"
	expect_eq "rule operations on sgnic1 across the upgrade" "$ops0" "$(sgnic-nl dev sgnic1 | jq .rule_ops)"
	entry=$(journalctl -u sgnicd MESSAGE_ID=$adopted -o json -n 1 --no-pager)
	expect_eq "the new sgnicd's adoption entry: pid, adopted, added, deleted" "$pid1 13 0 0" \
		"$(jq -r '"\(._PID) \(.SGNIC_ADOPTED_RULES) \(.SGNIC_ADDED_RULES) \(.SGNIC_DELETED_RULES)"' <<<"$entry")"

	step "an unprivileged user can read but not change"
	nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --)
	run "${nobody[@]}" sgnicctl port list
	run "${nobody[@]}" sgnicctl matcher show "$m"
	if out=$("${nobody[@]}" sgnicctl rule delete "$drop" 2>&1); then
		fail "unprivileged rule delete succeeded"
	else
		rc=$?
	fi
	echo "$out"
	expect_eq "unprivileged change exit status" 2 "$rc"
	grep -qi 'denied\|CAP_NET_ADMIN' <<<"$out" || fail "no access-denied message: $out"

	mkdir -p "$SGNIC_TEST_STATE"
	echo "$before" >"$SGNIC_TEST_STATE/rules"
	echo "reboot to see the module load from modules-load.d and the rules come back"
	exit 100
	;;
2)
	step "after reboot: sgnic loaded at boot"
	grep -q '^sgnic ' /proc/modules || fail "sgnic is not loaded after boot"
	# sgnicd would load it too (asking nlctrl for the family loads it), but
	# systemd-modules-load runs first and says it inserted it.
	expect_eq "systemd-modules-load" active "$(systemctl is-active systemd-modules-load.service)"
	expect_eq "systemd-modules-load status" 0 \
		"$(systemctl show -P ExecMainStatus systemd-modules-load.service)"
	# Early in boot it logs to kmsg (no _SYSTEMD_UNIT), later to the journal.
	journalctl -b --no-pager | grep "Inserted module 'sgnic'" ||
		echo "(the 'Inserted module' message was not kept in this boot's log)"
	run ip -br link show sgnic0

	step "sgnicd came up at boot and put the rules back"
	expect_eq "sgnicd active" active "$(systemctl is-active sgnicd.service)"
	after=$(sgnicctl -j rule list | jq -c '[.rules[] | select(.installed) | .id] | sort')
	expect_eq "rules after reboot" "$(cat "$SGNIC_TEST_STATE/rules")" "$after"

	step "apt-get remove sgnicd sgnic-dkms"
	run modprobe -r sgnic
	run apt-get remove "${apt_offline[@]}" sgnicd sgnic-dkms
	status=$(dkms status sgnic)
	[ -z "$status" ] || fail "dkms still lists: $status"
	if modinfo sgnic >/dev/null 2>&1; then
		fail "sgnic.ko is still installed: $(modinfo -F filename sgnic)"
	fi
	[ ! -e /usr/lib/modules-load.d/sgnic.conf ] || fail "modules-load.d entry left behind"
	[ ! -e /lib/systemd/system/sgnicd.service ] || fail "unit left behind"
	systemctl is-active --quiet sgnicd.service && fail "sgnicd still running after remove"
	echo "removed cleanly"
	exit 0
	;;
*)
	fail "unexpected boot $1 (a panic reboots the guest)"
	;;
esac
