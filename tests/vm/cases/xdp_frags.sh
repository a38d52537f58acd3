#!/usr/bin/env bash
# Multi-buffer XDP: at MTU 9000 over 2 KiB buffers every large frame is an
# S/G FD, and a program with frags support (section "xdp.frags", built here
# from tests/vm/xdp/xdp_frags.c) sees all of it: its length and every byte,
# head and frags.  XDP_TX sends such a frame back as an S/G frame, and a
# redirect to another sgnic port sends it on through ndo_xdp_xmit, whole.
. "$(dirname "$0")/../testlib.sh"
need_kmod
command -v clang >/dev/null || fail "no clang to build the test's XDP programs: run make deps"

src=$(cd "$(dirname "$0")/../xdp" && pwd)/xdp_frags.c
obj=$(mktemp -d)
# build_prog NAME DEFINE...: the program of one build of xdp_frags.c.
build_prog() {
	local name=$1
	shift
	clang -O2 -g -Wall -Werror -target bpf -I/usr/include/"$(gcc -dumpmachine)" \
		"${@/#/-D}" -c "$src" -o "$obj/$name.o" || fail "clang could not build $name ($*)"
}
# attach NS DEV NAME: NAME's program as DEV's native (driver) XDP program.
attach() {
	in_ns "$1" ip link set dev "$2" xdpdrv obj "$obj/$3.o" sec xdp.frags ||
		fail "attach $3 to $2"
	expect_match "$2 runs $3 in driver mode" "prog/xdp id" "$(in_ns "$1" ip -d link show "$2")"
}
# ping_big NS DST PATTERN: three 9000-byte echo requests filled with PATTERN.
ping_big() { in_ns "$1" ping -c 3 -i 0.2 -W 1 -s 8972 -p "$3" "$2"; }

step "insmod, two pairs; sgnic0 (ns a) and sgnic1 (ns b) at MTU 9000, rx-buf-len 2048"
insmod "$SGNIC_KMOD" pairs=2
sgnic_pair_netns 9000
# Only what the case sends crosses the pair (a stray IPv6 report or
# solicitation would be one more frame redirected in the last step).
in_ns a sysctl -qw net.ipv6.conf.sgnic0.disable_ipv6=1
in_ns b sysctl -qw net.ipv6.conf.sgnic1.disable_ipv6=1
expect_match "rx-buf-len of sgnic1" "RX Buf Len:[[:space:]]+2048" "$(in_ns b ethtool -g sgnic1)"
build_prog check CHECK
build_prog check-nofrags CHECK NO_FRAGS

step "a program without frags support is refused at this MTU; one with it is taken"
out=$(in_ns b ip link set dev sgnic1 xdpdrv obj "$obj/check-nofrags.o" sec xdp 2>&1) &&
	fail "a non-frags program was attached at MTU 9000: $out"
expect_match "the refusal names the reason" "frags support" "$out"
expect_match "no program after the refusal" "^$" "$(in_ns b ip -d link show sgnic1 | grep 'prog/xdp' || true)"
attach b sgnic1 check

step "the program reads all of each S/G frame: pattern 5a dropped, 11 passed"
sg0=$(sgnic_stat b sgnic1 rx_sg)
drop0=$(sgnic_stat b sgnic1 rx_xdp_drop)
pass0=$(sgnic_stat b sgnic1 rx_xdp_pass)
out=$(ping_big a 10.10.0.2 11) || fail "pattern 11 must pass the program: $out"
out=$(ping_big a 10.10.0.2 5a) && fail "pattern 5a reached the stack, the program did not see every byte: $out"
expect_ge "sgnic1 rx_sg (6 requests)" $((sg0 + 6)) "$(sgnic_stat b sgnic1 rx_sg)"
expect_eq "sgnic1 rx_xdp_drop: the 3 whole 5a frames" $((drop0 + 3)) "$(sgnic_stat b sgnic1 rx_xdp_drop)"
expect_ge "sgnic1 rx_xdp_pass: the 3 11 frames at least" $((pass0 + 3)) "$(sgnic_stat b sgnic1 rx_xdp_pass)"
in_ns b ip link set dev sgnic1 xdpdrv off
out=$(ping_big a 10.10.0.2 5a) || fail "without the program pattern 5a passes: $out"

step "XDP_TX of S/G frames: sgnic1 bounces them to sgnic0 as S/G frames"
build_prog bounce BOUNCE
# The bounced ARP would never answer: a static neighbour instead.
in_ns a ip neigh replace 10.10.0.2 lladdr "$(in_ns b cat /sys/class/net/sgnic1/address)" dev sgnic0
attach b sgnic1 bounce
tx0=$(sgnic_stat b sgnic1 rx_xdp_tx)
txsg0=$(sgnic_stat b sgnic1 tx_sg)
rxsg0=$(sgnic_stat a sgnic0 rx_sg)
rx0=$(sgnic_stat a sgnic0 rx_packets)
ping_big a 10.10.0.2 11 >/dev/null && fail "a bounced request cannot be answered"
expect_ge "sgnic1 rx_xdp_tx" $((tx0 + 3)) "$(sgnic_stat b sgnic1 rx_xdp_tx)"
expect_ge "sgnic1 tx_sg: the bounces left as S/G FDs" $((txsg0 + 3)) "$(sgnic_stat b sgnic1 tx_sg)"
expect_ge "sgnic0 rx_sg: they arrived whole" $((rxsg0 + 3)) "$(sgnic_stat a sgnic0 rx_sg)"
expect_ge "sgnic0 rx_packets" $((rx0 + 3)) "$(sgnic_stat a sgnic0 rx_packets)"
expect_eq "sgnic1 rx_xdp_tx_errors" 0 "$(sgnic_stat b sgnic1 rx_xdp_tx_errors)"
in_ns b ip link set dev sgnic1 xdpdrv off

step "XDP_REDIRECT: sgnic1 -> sgnic2 (ndo_xdp_xmit) -> sgnic3; S/G frames refused by the core"
ip netns add c
ip link set sgnic3 netns c
ip -n c link set sgnic3 mtu 9000
ip -n c link set sgnic3 up
# The target shares sgnic1's namespace: bpf_redirect() looks its ifindex up there.
ip link set sgnic2 netns b
ip -n b link set sgnic2 mtu 9000
in_ns b sysctl -qw net.ipv6.conf.sgnic2.disable_ipv6=1
ip -n b link set sgnic2 up
build_prog redirect "REDIRECT=$(in_ns b cat /sys/class/net/sgnic2/ifindex)"
attach b sgnic1 redirect
red0=$(sgnic_stat b sgnic1 rx_xdp_redirect)
rerr0=$(sgnic_stat b sgnic1 rx_xdp_redirect_errors)
xmit0=$(sgnic_stat b sgnic2 tx_xdp_xmit)
rx3=$(sgnic_stat c sgnic3 rx_packets)
in_ns a ping -c 3 -i 0.2 -W 1 -s 1000 -p 11 10.10.0.2 >/dev/null &&
	fail "a redirected request cannot be answered"
expect_ge "sgnic1 rx_xdp_redirect" $((red0 + 3)) "$(sgnic_stat b sgnic1 rx_xdp_redirect)"
expect_ge "sgnic2 tx_xdp_xmit" $((xmit0 + 3)) "$(sgnic_stat b sgnic2 tx_xdp_xmit)"
expect_eq "sgnic2 tx_xdp_xmit_errors" 0 "$(sgnic_stat b sgnic2 tx_xdp_xmit_errors)"
expect_ge "sgnic3 rx_packets: they arrived" $((rx3 + 3)) "$(sgnic_stat c sgnic3 rx_packets)"
expect_eq "sgnic3 rx_errors" 0 "$(sgnic_stat c sgnic3 rx_errors)"
# Linux 6.1 redirects multi-buffer frames to CPU maps only (xdp_do_redirect()
# refuses the rest before a driver sees them): counted, buffers given back.
expect_eq "no S/G redirect errors yet" "$rerr0" "$(sgnic_stat b sgnic1 rx_xdp_redirect_errors)"
xmit1=$(sgnic_stat b sgnic2 tx_xdp_xmit)
sg3=$(sgnic_stat c sgnic3 rx_sg)
ping_big a 10.10.0.2 11 >/dev/null && fail "a redirected request cannot be answered"
expect_eq "sgnic1 rx_xdp_redirect_errors: the 3 S/G frames" $((rerr0 + 3)) \
	"$(sgnic_stat b sgnic1 rx_xdp_redirect_errors)"
expect_eq "sgnic2 tx_xdp_xmit: none of them" "$xmit1" "$(sgnic_stat b sgnic2 tx_xdp_xmit)"
expect_eq "sgnic3 rx_sg: none of them" "$sg3" "$(sgnic_stat c sgnic3 rx_sg)"

step "rmmod with the program attached"
rmmod sgnic
[ ! -e /sys/module/sgnic ] || fail "sgnic still loaded"
rm -rf "$obj"
