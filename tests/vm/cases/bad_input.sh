#!/usr/bin/env bash
# Out-of-range module parameters, ring settings, MTUs and debugfs writes are
# refused with an error and change nothing; the ethtool views are complete.
. "$(dirname "$0")/../testlib.sh"
need_kmod

refused() { # what cmd...: the command must fail
	local what=$1
	shift
	if "$@" >/tmp/refused.out 2>&1; then
		fail "$what: accepted ($*)"
	fi
	printf '    ok: %s refused: %s\n' "$what" "$(head -n 1 /tmp/refused.out)"
}

step "module parameter pairs: 0, 17 and 'x' refused"
for p in 0 17 x -1; do
	refused "pairs=$p" insmod "$SGNIC_KMOD" "pairs=$p"
	[ ! -e /sys/module/sgnic ] || fail "module loaded with pairs=$p"
done
expect_match "kernel log" "pairs=17 out of range 1..16" "$(dmesg)"

step "pairs=2: sgnic0..sgnic3, each pair back to back"
insmod "$SGNIC_KMOD" pairs=2
expect_eq "pairs parameter" 2 "$(cat /sys/module/sgnic/parameters/pairs)"
for d in sgnic0 sgnic1 sgnic2 sgnic3; do
	[ -d "/sys/class/net/$d" ] || fail "$d missing"
done
expect_eq "peer of sgnic2" "$(cat /sys/class/net/sgnic3/ifindex)" "$(cat /sys/class/net/sgnic2/iflink)"
expect_eq "peer of sgnic1" "$(cat /sys/class/net/sgnic0/ifindex)" "$(cat /sys/class/net/sgnic1/iflink)"

step "ethtool views: -i, -l (a combined channel per CPU), -g, -S totals and per CPU"
ncpu=$(nproc)
expect_match "ethtool -i" "driver: sgnic" "$(ethtool -i sgnic2)"
expect_match "ethtool -i bus-info" "bus-info: sgnic" "$(ethtool -i sgnic2)"
# Current and maximum alike: a Tx and an Rx queue per CPU, one combined channel.
chan=$(ethtool -l sgnic2)
expect_eq "ethtool -l combined (max, current)" "$ncpu $ncpu" \
	"$(awk '/^Combined:/ { printf "%s%s", sep, $2; sep = " " }' <<<"$chan")"
expect_eq "ethtool -l tx (max, current)" "0 0" \
	"$(awk '/^TX:/ { printf "%s%s", sep, ($2 == "n/a" ? 0 : $2); sep = " " }' <<<"$chan")"
expect_eq "ethtool -l rx (max, current)" "0 0" \
	"$(awk '/^RX:/ { printf "%s%s", sep, ($2 == "n/a" ? 0 : $2); sep = " " }' <<<"$chan")"
expect_match "ethtool -g" "RX Buf Len:[[:space:]]+2048" "$(ethtool -g sgnic2)"
stats=$(ethtool -S sgnic2)
for s in rx_packets tx_packets rx_bytes tx_bytes tx_sg tx_linearized rx_sg rx_nobuf \
	tx_confirm tx_errors rx_errors pool_avail pool_count cpu0_rx_packets \
	cpu$((ncpu - 1))_tx_sg cpu0_pool_count; do
	grep -q "^ *$s: " <<<"$stats" || fail "ethtool -S sgnic2 lacks $s"
done
echo "    ok: ethtool -S has totals, pool counts and per-CPU counters"
for f in portals fqs bpool; do
	[ -n "$(cat "$(sgnic_debugfs sgnic2 "$f")")" ] || fail "debugfs $f of sgnic2 empty"
done
expect_match "debugfs fqs" "tx_conf" "$(cat "$(sgnic_debugfs sgnic2 fqs)")"
expect_match "debugfs portals" "dqrr_size" "$(cat "$(sgnic_debugfs sgnic2 portals)")"

step "rx-buf-len and ring sizes outside the range refused, unchanged"
refused "rx-buf-len 512" ethtool -G sgnic2 rx-buf-len 512
refused "rx-buf-len 4096" ethtool -G sgnic2 rx-buf-len 4096
refused "rx 16" ethtool -G sgnic2 rx 16
expect_match "ethtool -g" "RX Buf Len:[[:space:]]+2048" "$(ethtool -g sgnic2)"
expect_match "bpool" "buf_len: 2048" "$(cat "$(sgnic_debugfs sgnic2 bpool)")"

step "MTU outside 68..9600 refused, unchanged; the edges accepted"
refused "mtu 9601" ip link set sgnic2 mtu 9601
refused "mtu 67" ip link set sgnic2 mtu 67
expect_eq "mtu" 1500 "$(cat /sys/class/net/sgnic2/mtu)"
ip link set sgnic2 mtu 9600
ip link set sgnic2 mtu 68
expect_eq "mtu" 68 "$(cat /sys/class/net/sgnic2/mtu)"

step "debugfs knobs: invalid writes refused, values unchanged"
knob_refused() { # knob value
	local f
	f=$(sgnic_debugfs sgnic2 "$1")
	local was
	was=$(cat "$f")
	refused "$1 <- '$2'" sh -c "echo '$2' > '$f'"
	expect_eq "$1 unchanged" "$was" "$(cat "$f")"
}
knob_refused sgt_max_entries 1
knob_refused sgt_max_entries 17
knob_refused sgt_max_entries abc
knob_refused sgt_max_entries -3
knob_refused fault_bpool_deplete 2
knob_refused fault_sgt_no_final 7
knob_refused fault_enqueue_busy 1000001
echo 9 >"$(sgnic_debugfs sgnic2 sgt_max_entries)"
expect_eq "sgt_max_entries after a valid write" 9 "$(cat "$(sgnic_debugfs sgnic2 sgt_max_entries)")"
expect_eq "sgnic0's knob untouched" 16 "$(cat "$(sgnic_debugfs sgnic0 sgt_max_entries)")"
rmmod sgnic
