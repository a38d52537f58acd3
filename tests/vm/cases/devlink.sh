#!/usr/bin/env bash
# The device as iproute2's devlink shows it (JSON parsed): dev info, one
# physical port per netdev, and each port's health reporters: bpool counts
# and dumps an empty pool, stays in error without auto-recover until
# `devlink health recover` puts the buffers back, and recovers by itself
# with auto-recover; fman records the Tx FD the frame manager refused.
# sgnicd logs each report and recovery. Resources: occupancy equals the
# family's dev dump as matchers are created, grown and deleted; a rule limit
# set and reloaded is enforced; the rx_buf_len param sets every port's
# receive buffers and refuses a bad value. rmmod with a reporter in error is
# clean (the harness reads the kernel log).
. "$(dirname "$0")/../testlib.sh"
. "$(dirname "$0")/../steerlib.sh"
. "$(dirname "$0")/../daemonlib.sh"
need_kmod
need_nl
need_sgnicd
command -v devlink >/dev/null || fail "devlink (iproute2) not installed"
DEV=platform/sgnic

# health PORT REPORTER JQ: a field of the reporter's `health show`.
health() { devlink -j health show "$DEV/$1" reporter "$2" | jq -r ".health[\"$DEV/$1\"][0]$3"; }
dump() { devlink -j health dump show "$DEV/$1" reporter "$2"; }
ping_b() { ip netns exec a ping -c "$1" -i 0.2 -W 1 10.10.0.2 || true; }

step "pairs=2: dev info and a physical devlink port per netdev"
insmod "$SGNIC_KMOD" pairs=2
expect_eq "devlink dev show" "[\"$DEV\"]" "$(devlink -j dev show | jq -c '.dev | keys')"
info=$(devlink -j dev info "$DEV" | jq -c ".info[\"$DEV\"]")
expect_eq "driver" sgnic "$(jq -r .driver <<<"$info")"
expect_eq "serial number" SGNIC-FM-0001 "$(jq -r .serial_number <<<"$info")"
expect_eq "running fw = the module's version" "$(modinfo -F version "$SGNIC_KMOD")" \
	"$(jq -r .versions.running.fw <<<"$info")"
ports=$(devlink -j port show | jq -c '[.port | to_entries[] | select(.key | startswith("'"$DEV"'/")) |
	[.key, .value.netdev, .value.flavour, .value.port, .value.type]]')
expect_eq "ports" "[[\"$DEV/0\",\"sgnic0\",\"physical\",0,\"eth\"],[\"$DEV/1\",\"sgnic1\",\"physical\",1,\"eth\"],[\"$DEV/2\",\"sgnic2\",\"physical\",2,\"eth\"],[\"$DEV/3\",\"sgnic3\",\"physical\",3,\"eth\"]]" "$ports"
expect_eq "phys_port_name of sgnic3" p3 "$(cat /sys/class/net/sgnic3/phys_port_name)"
expect_eq "reporters of every port, all healthy" \
	'[["bpool","healthy",0],["fman","healthy",0]]' \
	"$(devlink -j health show | jq -c "[.health[\"$DEV/0\"], .health[\"$DEV/3\"]] | add |
		map([.reporter, .state, .error]) | unique")"

# res PORT NAME [FIELD]: a resource of port PORT (default field: occ).
res() {
	devlink -j resource show "$DEV" | jq -r --arg p "p$1" --arg n "$2" \
		".resources[\"$DEV\"][] | select(.name == \$p) | .resources[] | select(.name == \$n) | .${3:-occ}"
}
# dev_pages PORT DIR: the family's dev dump of port PORT, pages of direction DIR.
dev_pages() { nl - dev "sgnic$1" | jq ".$2.pages"; }

step "resources: rules, pages per direction and pool buffers per port, as the family counts them"
expect_eq "port resources" '["p0","p1","p2","p3"]' \
	"$(devlink -j resource show "$DEV" | jq -c "[.resources[\"$DEV\"][].name]")"
expect_eq "p2's resources" '["pool_buffers","rules","rx_pages","tx_pages"]' \
	"$(devlink -j resource show "$DEV" | jq -c "[.resources[\"$DEV\"][] | select(.name == \"p2\") | .resources[].name] | sort")"
expect_eq "rules: default limit" 4194304 "$(res 2 rules size)"
expect_eq "rules: occupancy" 0 "$(res 2 rules)"
expect_eq "pool_buffers of p2: size = the pool's capacity" \
	"$(awk '$1 == "capacity:" { print $2 }' "$(sgnic_debugfs sgnic2 bpool)")" "$(res 2 pool_buffers size)"
nl - matcher-new sgnic2 id 1 prio 1 rx-log 4 tx-log 0 ip-proto l4-dport >/dev/null
nl - rules-gen sgnic2 1 --count 10 --dir rx --vary l4-dport=1000 --set ip-proto=17 --action count >/dev/null
expect_eq "rules: occupancy = 10" 10 "$(res 2 rules)"
expect_eq "rx_pages = the dev dump's" "$(dev_pages 2 rx)" "$(res 2 rx_pages)"
expect_eq "tx_pages = the dev dump's" "$(dev_pages 2 tx)" "$(res 2 tx_pages)"
rx0=$(res 2 rx_pages)
nl - matcher-new sgnic2 id 2 prio 2 rx-log 12 tx-log 12 ip-proto >/dev/null
expect_eq "rx_pages with a second, larger matcher" "$(dev_pages 2 rx)" "$(res 2 rx_pages)"
expect_ge "rx_pages grew" $((rx0 + 1)) "$(res 2 rx_pages)"
expect_eq "tx_pages with it" "$(dev_pages 2 tx)" "$(res 2 tx_pages)"
nl - matcher-new sgnic2 id 3 prio 3 rx-log 14 tx-log 0 ip-proto l4-dport >/dev/null
nl - matcher-resize sgnic2 1 3 >/dev/null
nl - rules-move sgnic2 1 --all >/dev/null
nl - matcher-del sgnic2 1 >/dev/null
expect_eq "rx_pages after growing matcher 1 into 3" "$(dev_pages 2 rx)" "$(res 2 rx_pages)"
expect_eq "rules after the move" 10 "$(res 2 rules)"
nl - matcher-del sgnic2 2 >/dev/null
expect_eq "rx_pages after deleting matcher 2" "$(dev_pages 2 rx)" "$(res 2 rx_pages)"
expect_eq "another port untouched" 0 "$(res 3 rx_pages)"

step "the rule limit: resource set, dev reload, enforced with a clear error"
devlink resource set "$DEV" path /p2/rules size 12
expect_eq "size_new before the reload" 12 "$(res 2 rules size_new)"
nl - rule-add sgnic2 3 100 rx ip-proto=6 l4-dport=1 count >/dev/null # the old limit still applies
devlink dev reload "$DEV"
expect_eq "size after the reload" 12 "$(res 2 rules size)"
nl - rule-add sgnic2 3 101 rx ip-proto=6 l4-dport=2 count >/dev/null
err=$(nl_err - rule-add sgnic2 3 102 rx ip-proto=6 l4-dport=3 count)
expect_match "the 13th rule refused" "EDQUOT: .*rule limit" "$err"
expect_eq "rules at the limit" 12 "$(res 2 rules)"
expect_eq "the other ports keep the default" 4194304 "$(res 3 rules size)"
err=$(devlink resource set "$DEV" path /p2/rules size $((1 << 25)) 2>&1) && fail "a size above the most accepted"
echo "      $err"
nl - rules-del sgnic2 --matcher 3 $(nl - rules sgnic2 3 | jq -r '.[].id') >/dev/null
nl - matcher-del sgnic2 3 >/dev/null
expect_eq "nothing left" '[0,0]' "$(jq -nc "[$(res 2 rules), $(res 2 rx_pages)]")"

step "bpool without auto-recover: an empty pool is reported once, dumped, and stays"
sgnic_pair_netns 9000
start_system_bus
start_sgnicd
ping_b 1 >/dev/null
devlink health set "$DEV/1" reporter bpool auto_recover false
expect_eq "auto_recover" false "$(health 1 bpool .auto_recover)"
echo 1 >"$(sgnic_debugfs sgnic1 fault_bpool_deplete)"
expect_match "ping into the empty pool" " 100% packet loss" "$(ping_b 3)"
expect_eq "bpool: state, errors, recoveries" '["error",1,0]' \
	"$(devlink -j health show "$DEV/1" reporter bpool | jq -c ".health[\"$DEV/1\"][0] | [.state, .error, .recover]")"
d=$(dump 1 bpool)
expect_eq "dump: netdev, avail, fault_deplete" '["sgnic1",0,true]' "$(jq -c '[.netdev, .avail, .fault_deplete]' <<<"$d")"
expect_ge "dump: buffers held by the fault" 1 "$(jq .held <<<"$d")"
expect_ge "dump: failed acquires" 1 "$(jq .acquire_failed <<<"$d")"
expect_match "still dropping: one report per burst" " 100% packet loss" "$(ping_b 2)"
expect_eq "bpool errors after more drops" 1 "$(health 1 bpool .error)"
expect_eq "the other port's bpool" healthy "$(health 0 bpool .state)"

step "devlink health recover: the buffers are back, traffic flows"
devlink health recover "$DEV/1" reporter bpool
expect_eq "bpool: state, recoveries" '["healthy",1]' \
	"$(devlink -j health show "$DEV/1" reporter bpool | jq -c ".health[\"$DEV/1\"][0] | [.state, .recover]")"
expect_eq "fault knob cleared by the recovery" 0 "$(cat "$(sgnic_debugfs sgnic1 fault_bpool_deplete)")"
expect_eq "held after recovery" 0 "$(devlink -j health diagnose "$DEV/1" reporter bpool | jq .held)"
expect_match "ping after recovery" " 0% packet loss" "$(ping_b 3)"

step "bpool with auto-recover (grace period 0): it reports and recovers by itself"
devlink health set "$DEV/1" reporter bpool auto_recover true grace_period 0
echo 1 >"$(sgnic_debugfs sgnic1 fault_bpool_deplete)"
ip netns exec a ping -c 1 -W 1 10.10.0.2 >/dev/null || true
for _ in $(seq 50); do
	[ "$(health 1 bpool .recover)" = 2 ] && break
	sleep 0.1
done
expect_eq "bpool: state, errors, recoveries" '["healthy",2,2]' \
	"$(devlink -j health show "$DEV/1" reporter bpool | jq -c ".health[\"$DEV/1\"][0] | [.state, .error, .recover]")"
expect_eq "fault knob cleared by the auto-recovery" 0 "$(cat "$(sgnic_debugfs sgnic1 fault_bpool_deplete)")"
expect_match "ping after auto-recovery" " 0% packet loss" "$(ping_b 3)"

step "fman: S/G tables without a final entry are refused; the dump shows the last FD"
echo 1 >"$(sgnic_debugfs sgnic0 fault_sgt_no_final)"
head -c $((1 << 20)) /dev/urandom >/tmp/src.bin
err0=$(sgnic_stat a sgnic0 tx_errors)
sgnic_send_until_tx_error /tmp/src.bin 5003
echo 0 >"$(sgnic_debugfs sgnic0 fault_sgt_no_final)"
expect_ge "sgnic0 tx_errors" $((err0 + 1)) "$(sgnic_stat a sgnic0 tx_errors)"
expect_ge "fman errors" 1 "$(health 0 fman .error)"
d=$(dump 0 fman)
expect_eq "dump: netdev, reason, FD format" \
	'["sgnic0","S/G table without a final entry","sg"]' \
	"$(jq -c '[.netdev, .last_reason, .last_fd.format]' <<<"$d")"
expect_ge "dump: refused FDs" 1 "$(jq .refused_fds <<<"$d")"
expect_ge "dump: FD length" 60 "$(jq .last_fd.length <<<"$d")"
# Auto-recovered at the first report; a second one within the grace period stays.
devlink health recover "$DEV/0" reporter fman
expect_eq "fman after recovery" healthy "$(health 0 fman .state)"
expect_eq "the receiving port's fman" 0 "$(health 1 fman .error)"

step "param rx_buf_len: every port's receive buffers, as ethtool sets them for one"
param() { devlink -j dev param show "$DEV" name rx_buf_len | jq -r ".param[\"$DEV\"][0].values[0].value"; }
rxbuf() { in_ns "$1" ethtool -g "$2" | awk '/^RX Buf Len:/ { print $4 }' | tail -n 1; }
expect_eq "rx_buf_len" 2048 "$(param)"
devlink dev param set "$DEV" name rx_buf_len value 3072 cmode runtime
expect_eq "rx_buf_len after the set" 3072 "$(param)"
expect_eq "ethtool -g of sgnic0, sgnic1, sgnic3" "3072 3072 3072" "$(rxbuf a sgnic0) $(rxbuf b sgnic1) $(rxbuf - sgnic3)"
expect_match "ping at MTU 9000 over 3 KiB buffers" " 0% packet loss" \
	"$(ip netns exec a ping -c 3 -i 0.2 -W 1 -s 8000 10.10.0.2 || true)"
err=$(devlink dev param set "$DEV" name rx_buf_len value 512 cmode runtime 2>&1) &&
	fail "rx_buf_len 512 accepted"
expect_match "rx_buf_len 512 refused, the range named" "1024\.\.3520" "$err"
expect_eq "rx_buf_len unchanged" "3072 3072" "$(param) $(rxbuf - sgnic2)"
ethtool -G sgnic2 rx-buf-len 1024
expect_eq "ethtool still sets one port" "1024 3072" "$(rxbuf - sgnic2) $(rxbuf - sgnic3)"

step "sgnicd logged every report and recovery"
stop_sgnicd
grep "health:" "$SGNICD_LOG" | sed 's/^/      /'
expect_eq "bpool of port 1: errors and recoveries logged, in order" \
	"$(printf '%s\n' 'error 1 0' 'healthy 1 1' 'error 2 1' 'healthy 2 2')" \
	"$(sed -n 's/.*health: platform\/sgnic\/1 reporter bpool: \([a-z]*\) (errors \([0-9]*\), recoveries \([0-9]*\)).*/\1 \2 \3/p' "$SGNICD_LOG")"
expect_match "fman of port 0: a report logged" "health: platform/sgnic/0 reporter fman: error" \
	"$(cat "$SGNICD_LOG")"

step "rmmod with a reporter in error"
devlink health set "$DEV/1" reporter bpool auto_recover false
echo 1 >"$(sgnic_debugfs sgnic1 fault_bpool_deplete)"
ping_b 1 >/dev/null
expect_eq "bpool state" error "$(health 1 bpool .state)"
ip netns del a
ip netns del b
rmmod sgnic
expect_eq "devlink dev show after rmmod" "[]" "$(devlink -j dev show | jq -c '.dev | keys')"
