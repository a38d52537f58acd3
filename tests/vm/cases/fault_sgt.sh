#!/usr/bin/env bash
# S/G table fault knobs: fewer S/G table entries push multi-frag skbs onto
# the linearize path (counted, data intact); tables without a final bit are
# rejected by the frame manager and come back as Tx-confirm errors.
. "$(dirname "$0")/../testlib.sh"
need_kmod
net=$(cd "$(dirname "$0")/../helpers" && pwd)/sgnic_net.py
knob=$(sgnic_debugfs sgnic0 sgt_max_entries)
nofinal=$(sgnic_debugfs sgnic0 fault_sgt_no_final)

transfer() { # port: 4 MiB a -> b, returns when it arrived
	ip netns exec b python3 "$net" recv "$1" /tmp/dst.bin &
	local rpid=$!
	ip netns exec a timeout 60 python3 "$net" send 10.10.0.2 "$1" /tmp/src.bin
	wait $rpid
	expect_eq "sha256 of what arrived" "$(sha256sum </tmp/src.bin)" "$(sha256sum </tmp/dst.bin)"
}

step "pair at MTU 9000 (multi-frag skbs), TSO off; all 16 S/G entries usable"
insmod "$SGNIC_KMOD"
sgnic_pair_netns 9000
# One FD per frame, so that the counts below are frames (TSO would send a
# few superframes; csum_offload and dma_bounce test it).
ip netns exec a ethtool -K sgnic0 tso off
head -c $((4 << 20)) /dev/urandom >/tmp/src.bin
expect_eq "sgt_max_entries" 16 "$(cat "$knob")"
lin0=$(sgnic_stat a sgnic0 tx_linearized)
sg0=$(sgnic_stat a sgnic0 tx_sg)
transfer 5001
sg1=$(sgnic_stat a sgnic0 tx_sg)
expect_ge "tx_sg with 16 entries" $((sg0 + 400)) "$sg1"
expect_eq "tx_linearized with 16 entries" "$lin0" "$(sgnic_stat a sgnic0 tx_linearized)"

step "sgt_max_entries=2: skbs with more than one frag are linearized"
echo 2 >"$knob"
expect_eq "sgt_max_entries" 2 "$(cat "$knob")"
transfer 5002
lin1=$(sgnic_stat a sgnic0 tx_linearized)
expect_ge "tx_linearized grew" $((lin0 + 50)) "$lin1"
expect_eq "sgnic0 tx_errors" 0 "$(sgnic_stat a sgnic0 tx_errors)"
echo 16 >"$knob"

step "fault_sgt_no_final=1: S/G frames rejected, confirmed with an error"
echo 1 >"$nofinal"
err0=$(sgnic_stat a sgnic0 tx_errors)
# Nothing S/G gets through, so this transfer cannot complete.
sgnic_send_until_tx_error /tmp/src.bin 5003
expect_ge "sgnic0 tx_errors grew" $((err0 + 1)) "$(sgnic_stat a sgnic0 tx_errors)"
echo 0 >"$nofinal"

step "knob cleared: S/G traffic flows again"
sg2=$(sgnic_stat a sgnic0 tx_sg)
transfer 5004
expect_ge "tx_sg grew" $((sg2 + 100)) "$(sgnic_stat a sgnic0 tx_sg)"
rmmod sgnic
