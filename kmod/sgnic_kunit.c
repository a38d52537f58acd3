// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of sgnic's pure pieces, run in the kernel they serve (the
 * debug kernel of the robustness tier; Debian's kernel has no KUnit).  The
 * user-space GoogleTest suite checks the same layouts with a shim; these
 * check them with the kernel's own byte-order and bit helpers.
 */
#include <kunit/test.h>
#include <linux/jhash.h>
#include <linux/module.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "sgnic_fd.h"
#include "sgnic_fman_tso.h"
#include "sgnic_steer_frame.h"
#include "sgnic_steer_geom.h"

static void sgnic_fd_contig_bytes(struct kunit *test)
{
	static const u8 want[16] = {
		0x00, 0x07, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a,
		0x04, 0x00, 0x05, 0xdc, 0x00, 0x00, 0x00, 0x00,
	};
	struct sgnic_fd fd;

	KUNIT_EXPECT_EQ(test, sizeof(fd), 16);
	sgnic_fd_clear(&fd);
	fd.bpid = 7;
	sgnic_fd_set_addr(&fd, 0x123456789aULL);
	KUNIT_ASSERT_TRUE(test, sgnic_fd_set_format(&fd, SGNIC_FD_CONTIG, 64, 1500));
	KUNIT_EXPECT_EQ(test, memcmp(&fd, want, sizeof(want)), 0);
	KUNIT_EXPECT_EQ(test, sgnic_fd_addr(&fd), 0x123456789aULL);
	KUNIT_EXPECT_EQ(test, sgnic_fd_offset(&fd), 64);
	KUNIT_EXPECT_EQ(test, sgnic_fd_length(&fd), 1500);
}

struct sgnic_fd_format_case {
	const char *name;
	enum sgnic_fd_format format;
	u32 offset;
	u32 length;
	bool fits;
	u32 cfg;
};

static const struct sgnic_fd_format_case sgnic_fd_format_cases[] = {
	{ "contig_max_offset", SGNIC_FD_CONTIG, 511, 0, true, 0x1ff00000 },
	{ "contig_offset_too_big", SGNIC_FD_CONTIG, 512, 0, false, 0 },
	{ "contig_max_length", SGNIC_FD_CONTIG, 0, 0xfffff, true, 0x000fffff },
	{ "contig_length_too_big", SGNIC_FD_CONTIG, 0, 0x100000, false, 0 },
	{ "sg_jumbo", SGNIC_FD_SG, 256, 9000, true, 0x90002328 },
	{ "contig_big_16m", SGNIC_FD_CONTIG_BIG, 0, 0x1000000, true, 0x41000000 },
	{ "contig_big_no_offset", SGNIC_FD_CONTIG_BIG, 1, 100, false, 0 },
	{ "sg_big_max_length", SGNIC_FD_SG_BIG, 0, 0x1fffffff, true, 0xdfffffff },
	{ "sg_big_length_too_big", SGNIC_FD_SG_BIG, 0, 0x20000000, false, 0 },
};

static void sgnic_fd_format_desc(const struct sgnic_fd_format_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(sgnic_fd_format, sgnic_fd_format_cases, sgnic_fd_format_desc);

static void sgnic_fd_format_boundaries(struct kunit *test)
{
	const struct sgnic_fd_format_case *c = test->param_value;
	struct sgnic_fd fd;

	sgnic_fd_clear(&fd);
	fd.cfg = cpu_to_be32(0xdeadbeef);
	KUNIT_ASSERT_EQ(test, sgnic_fd_set_format(&fd, c->format, c->offset, c->length), c->fits);
	if (!c->fits) {
		KUNIT_EXPECT_EQ(test, be32_to_cpu(fd.cfg), 0xdeadbeef);
		return;
	}
	KUNIT_EXPECT_EQ(test, be32_to_cpu(fd.cfg), c->cfg);
	KUNIT_EXPECT_EQ(test, sgnic_fd_offset(&fd), c->offset);
	KUNIT_EXPECT_EQ(test, sgnic_fd_length(&fd), c->length);
}

static void sgnic_sg_final_entry_bytes(struct kunit *test)
{
	static const u8 want[16] = {
		0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x40, 0x00, 0x00, 0x64, 0x00, 0x03, 0x1f, 0xff,
	};
	struct sgnic_sg_entry sg;

	KUNIT_EXPECT_EQ(test, sizeof(sg) * SGNIC_SGT_MAX_ENTRIES, SGNIC_SGT_BYTES);
	KUNIT_ASSERT_TRUE(test, sgnic_sg_set(&sg, 0xffffffffffULL, 100, 0x1fff, 3, true));
	KUNIT_EXPECT_EQ(test, memcmp(&sg, want, sizeof(want)), 0);
	KUNIT_EXPECT_TRUE(test, sgnic_sg_is_final(&sg));
	KUNIT_EXPECT_FALSE(test, sgnic_sg_is_extension(&sg));
	KUNIT_EXPECT_FALSE(test, sgnic_sg_set(&sg, 0, SGNIC_SG_LENGTH_MASK + 1, 0, 3, true));
	KUNIT_EXPECT_EQ(test, memcmp(&sg, want, sizeof(want)), 0);
}

static struct kunit_case sgnic_fd_cases[] = {
	KUNIT_CASE(sgnic_fd_contig_bytes),
	KUNIT_CASE_PARAM(sgnic_fd_format_boundaries, sgnic_fd_format_gen_params),
	KUNIT_CASE(sgnic_sg_final_entry_bytes),
	{}
};

static struct kunit_suite sgnic_fd_suite = {
	.name = "sgnic_fd",
	.test_cases = sgnic_fd_cases,
};

kunit_test_suite(sgnic_fd_suite);

/* ---- steering table geometry, pages and the row hash ---- */

struct sgnic_geom_case {
	u32 size_log;
	u32 depth;
	u32 col_rows;
	u32 col_depth;
	u64 stes;
	u64 pages;
};

/* Capacity and pages per size_log: main range plus collision range, each rounded up. */
static const struct sgnic_geom_case sgnic_geom_cases[] = {
	{ 0, 1, 0, 0, 1, 1 },
	{ 1, 2, 0, 0, 4, 1 },
	{ 4, 16, 0, 0, 256, 4 },
	{ 10, 16, 0, 0, 16384, 256 },
	{ 11, 4, 64, 16, 9216, 144 },
	{ 14, 4, 512, 16, 73728, 1152 },
	{ 20, 4, 32768, 16, 4718592, 73728 },
	{ 24, 4, 524288, 16, 75497472, 1179648 },
};

static void sgnic_geom_desc(const struct sgnic_geom_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "size_log_%u", c->size_log);
}

KUNIT_ARRAY_PARAM(sgnic_geom, sgnic_geom_cases, sgnic_geom_desc);

static void sgnic_steer_geom_sizes(struct kunit *test)
{
	const struct sgnic_geom_case *c = test->param_value;
	struct sgnic_steer_geom g;

	KUNIT_ASSERT_TRUE(test, sgnic_steer_size_log_valid(c->size_log));
	sgnic_steer_geom_init(&g, c->size_log);
	KUNIT_EXPECT_EQ(test, sgnic_steer_rows(&g), 1U << c->size_log);
	KUNIT_EXPECT_EQ(test, sgnic_steer_depth(&g), c->depth);
	KUNIT_EXPECT_EQ(test, sgnic_steer_col_rows(&g), c->col_rows);
	KUNIT_EXPECT_EQ(test, sgnic_steer_col_depth(&g), c->col_depth);
	KUNIT_EXPECT_EQ(test, sgnic_steer_stes(&g), c->stes);
	KUNIT_EXPECT_EQ(test, sgnic_steer_pages(&g), c->pages);
}

static void sgnic_steer_geom_caps(struct kunit *test)
{
	u32 size_log;

	KUNIT_EXPECT_EQ(test, SGNIC_STEER_SIZE_LOG_MAX, 24);
	for (size_log = 0; size_log <= SGNIC_STEER_SIZE_LOG_MAX; size_log++)
		KUNIT_EXPECT_TRUE(test, sgnic_steer_size_log_valid(size_log));
	for (; size_log <= 32; size_log++)
		KUNIT_EXPECT_FALSE(test, sgnic_steer_size_log_valid(size_log));
	/* A device with shallower rows refuses the collision table's depth. */
	KUNIT_EXPECT_TRUE(test, sgnic_steer_size_log_fits(10, 26, 4));
	KUNIT_EXPECT_FALSE(test, sgnic_steer_size_log_fits(11, 26, 3));
	KUNIT_EXPECT_FALSE(test, sgnic_steer_size_log_fits(20, 21, 4));
}

/* The row hash is the kernel's jhash2(), word count 0 to 16, any seed. */
static void sgnic_steer_hash_is_jhash2(struct kunit *test)
{
	u32 words[16], seed, state = 0x2545f491, n, i;

	for (n = 0; n <= ARRAY_SIZE(words); n++) {
		for (i = 0; i < ARRAY_SIZE(words); i++) {
			state = state * 1664525 + 1013904223;
			words[i] = state;
		}
		seed = n * 0x9e3779b9;
		KUNIT_EXPECT_EQ_MSG(test, sgnic_steer_hash(words, n, seed), jhash2(words, n, seed),
				    "%u words", n);
	}
}

/* Rows stay in range; collision rows come from the hash's high bits. */
static void sgnic_steer_rows_in_range(struct kunit *test)
{
	struct sgnic_steer_geom small, large;

	sgnic_steer_geom_init(&small, 4);
	sgnic_steer_geom_init(&large, 16);
	KUNIT_EXPECT_EQ(test, sgnic_steer_row(&small, 0xffffffff), 15U);
	KUNIT_EXPECT_EQ(test, sgnic_steer_col_row(&small, 0xffffffff), 0U);
	KUNIT_EXPECT_EQ(test, sgnic_steer_row(&large, 0x12345678), 0x5678U);
	KUNIT_EXPECT_EQ(test, sgnic_steer_col_row(&large, 0x12345678), 0x12345678U >> 21);
	KUNIT_EXPECT_LT(test, sgnic_steer_col_row(&large, 0xffffffff),
			sgnic_steer_col_rows(&large));
}

static struct kunit_case sgnic_steer_geom_test_cases[] = {
	KUNIT_CASE_PARAM(sgnic_steer_geom_sizes, sgnic_geom_gen_params),
	KUNIT_CASE(sgnic_steer_geom_caps),
	KUNIT_CASE(sgnic_steer_hash_is_jhash2),
	KUNIT_CASE(sgnic_steer_rows_in_range),
	{}
};

static struct kunit_suite sgnic_steer_geom_suite = {
	.name = "sgnic_steer_geom",
	.test_cases = sgnic_steer_geom_test_cases,
};

/* ---- the match key of frames ---- */

static const u8 sgnic_test_dmac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
static const u8 sgnic_test_smac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };

static struct sk_buff *sgnic_test_frame(struct kunit *test, __be16 proto)
{
	struct sk_buff *skb = alloc_skb(256, GFP_KERNEL);
	struct ethhdr *eth;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	eth = skb_put(skb, sizeof(*eth));
	memcpy(eth->h_dest, sgnic_test_dmac, ETH_ALEN);
	memcpy(eth->h_source, sgnic_test_smac, ETH_ALEN);
	eth->h_proto = proto;
	return skb;
}

static void sgnic_test_ipv4(struct sk_buff *skb, u8 proto, __be16 frag_off)
{
	struct iphdr *ip = skb_put_zero(skb, sizeof(*ip));

	ip->version = 4;
	ip->ihl = 5;
	ip->protocol = proto;
	ip->frag_off = frag_off;
	ip->saddr = htonl(0x0a000001);
	ip->daddr = htonl(0x0a000002);
}

static void sgnic_test_ports(struct sk_buff *skb, u16 sport, u16 dport)
{
	struct udphdr *uh = skb_put_zero(skb, sizeof(*uh));

	uh->source = htons(sport);
	uh->dest = htons(dport);
}

static u16 sgnic_key_be16(struct sgnic_steer_key *key, unsigned int off)
{
	__be16 v;

	memcpy(&v, sgnic_steer_key_bytes(key) + off, sizeof(v));
	return ntohs(v);
}

static u32 sgnic_key_be32(struct sgnic_steer_key *key, unsigned int off)
{
	__be32 v;

	memcpy(&v, sgnic_steer_key_bytes(key) + off, sizeof(v));
	return ntohl(v);
}

static void sgnic_frame_key_ipv4_udp(struct kunit *test)
{
	struct sk_buff *skb = sgnic_test_frame(test, htons(ETH_P_IP));
	struct sgnic_steer_key key;
	u8 *k = sgnic_steer_key_bytes(&key);

	sgnic_test_ipv4(skb, IPPROTO_UDP, 0);
	sgnic_test_ports(skb, 1234, 6000);
	sgnic_steer_frame_key(skb, &key);
	KUNIT_EXPECT_EQ(test, memcmp(k + SGNIC_STEER_KEY_DMAC, sgnic_test_dmac, ETH_ALEN), 0);
	KUNIT_EXPECT_EQ(test, memcmp(k + SGNIC_STEER_KEY_SMAC, sgnic_test_smac, ETH_ALEN), 0);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_ETHERTYPE), ETH_P_IP);
	KUNIT_EXPECT_EQ(test, sgnic_key_be32(&key, SGNIC_STEER_KEY_IPV4_SRC), 0x0a000001U);
	KUNIT_EXPECT_EQ(test, sgnic_key_be32(&key, SGNIC_STEER_KEY_IPV4_DST), 0x0a000002U);
	KUNIT_EXPECT_EQ(test, k[SGNIC_STEER_KEY_IP_PROTO], IPPROTO_UDP);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_L4_SPORT), 1234);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_L4_DPORT), 6000);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_VLAN_ID), 0);
	kfree_skb(skb);
}

/* A Tx VLAN tag offloaded to the skb is the frame's; the ethertype stays. */
static void sgnic_frame_key_offloaded_vlan(struct kunit *test)
{
	struct sk_buff *skb = sgnic_test_frame(test, htons(ETH_P_IP));
	struct sgnic_steer_key key;

	sgnic_test_ipv4(skb, IPPROTO_TCP, 0);
	sgnic_test_ports(skb, 80, 443);
	__vlan_hwaccel_put_tag(skb, htons(ETH_P_8021Q), 0xe000 | 200);
	sgnic_steer_frame_key(skb, &key);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_VLAN_ID), 200);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_ETHERTYPE), ETH_P_IP);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_L4_DPORT), 443);
	kfree_skb(skb);
}

static void sgnic_frame_key_vlan_ipv6_tcp(struct kunit *test)
{
	struct sk_buff *skb = sgnic_test_frame(test, htons(ETH_P_8021Q));
	struct vlan_hdr *vh = skb_put(skb, sizeof(*vh));
	struct sgnic_steer_key key;
	struct ipv6hdr *ip6;
	u8 *k = sgnic_steer_key_bytes(&key);

	vh->h_vlan_TCI = htons(0xe000 | 100);	/* priority bits are not the id */
	vh->h_vlan_encapsulated_proto = htons(ETH_P_IPV6);
	ip6 = skb_put_zero(skb, sizeof(*ip6));
	ip6->version = 6;
	ip6->nexthdr = IPPROTO_TCP;
	ip6->saddr.s6_addr[15] = 1;
	ip6->daddr.s6_addr[0] = 0xfd;
	ip6->daddr.s6_addr[15] = 2;
	sgnic_test_ports(skb, 40000, 22);
	sgnic_steer_frame_key(skb, &key);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_VLAN_ID), 100);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_ETHERTYPE), ETH_P_IPV6);
	KUNIT_EXPECT_EQ(test, k[SGNIC_STEER_KEY_IPV6_SRC + 15], 1);
	KUNIT_EXPECT_EQ(test, k[SGNIC_STEER_KEY_IPV6_DST], 0xfd);
	KUNIT_EXPECT_EQ(test, k[SGNIC_STEER_KEY_IPV6_DST + 15], 2);
	KUNIT_EXPECT_EQ(test, k[SGNIC_STEER_KEY_IP_PROTO], IPPROTO_TCP);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_L4_SPORT), 40000);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_L4_DPORT), 22);
	kfree_skb(skb);
}

/* A later fragment has no L4 header: ports stay zero, the protocol is kept. */
static void sgnic_frame_key_ipv4_fragment(struct kunit *test)
{
	struct sk_buff *skb = sgnic_test_frame(test, htons(ETH_P_IP));
	struct sgnic_steer_key key;

	sgnic_test_ipv4(skb, IPPROTO_UDP, htons(185));
	sgnic_test_ports(skb, 1234, 6000);
	sgnic_steer_frame_key(skb, &key);
	KUNIT_EXPECT_EQ(test, sgnic_steer_key_bytes(&key)[SGNIC_STEER_KEY_IP_PROTO], IPPROTO_UDP);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_L4_SPORT), 0);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_L4_DPORT), 0);
	kfree_skb(skb);
}

/* Truncated headers leave the fields they would carry at zero. */
static void sgnic_frame_key_truncated(struct kunit *test)
{
	struct sk_buff *skb = alloc_skb(64, GFP_KERNEL);
	struct sgnic_steer_key key, zero;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put_data(skb, sgnic_test_dmac, ETH_ALEN);
	sgnic_steer_frame_key(skb, &key);
	sgnic_steer_key_clear(&zero);
	KUNIT_EXPECT_TRUE(test, sgnic_steer_key_equal(&key, &zero));
	kfree_skb(skb);

	skb = sgnic_test_frame(test, htons(ETH_P_IP));
	skb_put_zero(skb, 8);	/* less than an IPv4 header */
	sgnic_steer_frame_key(skb, &key);
	KUNIT_EXPECT_EQ(test, sgnic_key_be16(&key, SGNIC_STEER_KEY_ETHERTYPE), ETH_P_IP);
	KUNIT_EXPECT_EQ(test, sgnic_key_be32(&key, SGNIC_STEER_KEY_IPV4_SRC), 0U);
	kfree_skb(skb);
}

static struct kunit_case sgnic_steer_frame_test_cases[] = {
	KUNIT_CASE(sgnic_frame_key_ipv4_udp),
	KUNIT_CASE(sgnic_frame_key_offloaded_vlan),
	KUNIT_CASE(sgnic_frame_key_vlan_ipv6_tcp),
	KUNIT_CASE(sgnic_frame_key_ipv4_fragment),
	KUNIT_CASE(sgnic_frame_key_truncated),
	{}
};

static struct kunit_suite sgnic_steer_frame_suite = {
	.name = "sgnic_steer_frame",
	.test_cases = sgnic_steer_frame_test_cases,
};

/* ---- TSO headers (sgnic_fman_tso.h) ---- */

static const u8 sgnic_tso_saddr6[16] = { 0xfd, [15] = 1 };
static const u8 sgnic_tso_daddr6[16] = { 0xfd, [15] = 2 };

/*
 * Writes Ethernet (with a VLAN tag if @vlan), IPv4 or IPv6 and a TCP header
 * with 12 bytes of options into @t->hdr, as the stack hands a superframe of
 * 3 segments of 1000 bytes (plus 500): seq 1000, ACK, PSH, FIN and CWR set.
 * Returns the headers' length.
 */
static u32 sgnic_tso_superframe(struct sgnic_fman_tso *t, bool ipv6, bool vlan)
{
	u32 l3off = vlan ? VLAN_ETH_HLEN : ETH_HLEN, l4off;
	struct vlan_ethhdr *veth = (struct vlan_ethhdr *)t->hdr;
	struct ethhdr *eth = (struct ethhdr *)t->hdr;
	__be16 proto = htons(ipv6 ? ETH_P_IPV6 : ETH_P_IP);
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	struct tcphdr *th;

	memset(t, 0, sizeof(*t));
	if (vlan) {
		veth->h_vlan_proto = htons(ETH_P_8021Q);
		veth->h_vlan_TCI = htons(100);
		veth->h_vlan_encapsulated_proto = proto;
	} else {
		eth->h_proto = proto;
	}
	if (ipv6) {
		ip6h = (struct ipv6hdr *)(t->hdr + l3off);
		ip6h->version = 6;
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = 64;
		memcpy(&ip6h->saddr, sgnic_tso_saddr6, 16);
		memcpy(&ip6h->daddr, sgnic_tso_daddr6, 16);
		l4off = l3off + sizeof(*ip6h);
	} else {
		iph = (struct iphdr *)(t->hdr + l3off);
		iph->version = 4;
		iph->ihl = 5;
		iph->ttl = 64;
		iph->id = htons(0xfffe);	/* wraps within the superframe */
		iph->frag_off = htons(IP_DF);
		iph->protocol = IPPROTO_TCP;
		iph->saddr = htonl(0x0a0a0001);
		iph->daddr = htonl(0x0a0a0002);
		l4off = l3off + sizeof(*iph);
	}
	th = (struct tcphdr *)(t->hdr + l4off);
	th->source = htons(40000);
	th->dest = htons(5201);
	th->seq = htonl(1000);
	th->doff = 8;
	th->ack = 1;
	th->psh = 1;
	th->fin = 1;
	th->cwr = 1;
	return l4off + th->doff * 4;
}

#define SGNIC_TSO_TEST_MSS	1000
#define SGNIC_TSO_TEST_PAYLOAD	2500

static bool sgnic_tso_test_parse(struct sgnic_fman_tso *t, u32 hlen)
{
	return sgnic_fman_tso_parse(t, hlen, hlen + SGNIC_TSO_TEST_PAYLOAD,
				    hlen - 32, offsetof(struct tcphdr, check),
				    SGNIC_TSO_TEST_MSS);
}

/* Each segment's headers, as software GSO would have made them. */
static void sgnic_tso_check_segments(struct kunit *test, bool ipv6, bool vlan)
{
	static const u32 len[] = { 1000, 1000, 500 };
	struct sgnic_fman_tso t;
	u8 orig[SGNIC_TSO_HDR_MAX];
	struct ipv6hdr *ip6h;
	struct tcphdr *th;
	struct iphdr *iph;
	u32 hlen, i, tcplen;
	__sum16 want;

	hlen = sgnic_tso_superframe(&t, ipv6, vlan);
	KUNIT_ASSERT_TRUE(test, sgnic_tso_test_parse(&t, hlen));
	KUNIT_EXPECT_EQ(test, t.hlen, hlen);
	KUNIT_EXPECT_EQ(test, t.l3off, vlan ? VLAN_ETH_HLEN : ETH_HLEN);
	KUNIT_EXPECT_EQ(test, t.ipv6, ipv6);
	memcpy(orig, t.hdr, hlen);
	th = (struct tcphdr *)(t.hdr + t.l4off);
	iph = (struct iphdr *)(t.hdr + t.l3off);
	ip6h = (struct ipv6hdr *)(t.hdr + t.l3off);
	for (i = 0; i < ARRAY_SIZE(len); i++) {
		sgnic_fman_tso_headers(&t, orig, i, i * SGNIC_TSO_TEST_MSS, len[i],
				       i == ARRAY_SIZE(len) - 1);
		tcplen = 32 + len[i];
		KUNIT_EXPECT_EQ(test, ntohl(th->seq), 1000 + i * SGNIC_TSO_TEST_MSS);
		KUNIT_EXPECT_EQ(test, (bool)th->fin, i == 2);
		KUNIT_EXPECT_EQ(test, (bool)th->psh, i == 2);
		KUNIT_EXPECT_EQ(test, (bool)th->cwr, i == 0);
		KUNIT_EXPECT_TRUE(test, th->ack);
		if (ipv6) {
			want = ~csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, tcplen,
						IPPROTO_TCP, 0);
			KUNIT_EXPECT_TRUE(test, ip6h->payload_len == htons(tcplen));
			KUNIT_EXPECT_TRUE(test, th->check == want);
			continue;
		}
		want = ~csum_tcpudp_magic(iph->saddr, iph->daddr, tcplen, IPPROTO_TCP, 0);
		KUNIT_EXPECT_TRUE(test, iph->tot_len == htons(20 + tcplen));
		KUNIT_EXPECT_TRUE(test, iph->id == htons((u16)(0xfffe + i)));
		KUNIT_EXPECT_TRUE(test, !ip_fast_csum(iph, iph->ihl));
		KUNIT_EXPECT_TRUE(test, iph->frag_off == htons(IP_DF));
		KUNIT_EXPECT_TRUE(test, th->check == want);
	}
}

static void sgnic_tso_ipv4(struct kunit *test)
{
	sgnic_tso_check_segments(test, false, false);
}

static void sgnic_tso_ipv6_vlan(struct kunit *test)
{
	sgnic_tso_check_segments(test, true, true);
}

/* What the frame manager cannot segment is refused, never guessed at. */
static void sgnic_tso_refused(struct kunit *test)
{
	struct sgnic_fman_tso t;
	struct iphdr *iph;
	u32 hlen;

	hlen = sgnic_tso_superframe(&t, true, false);
	((struct ipv6hdr *)(t.hdr + ETH_HLEN))->nexthdr = NEXTHDR_HOP;
	KUNIT_EXPECT_FALSE(test, sgnic_tso_test_parse(&t, hlen));	/* extension header */

	hlen = sgnic_tso_superframe(&t, false, false);
	iph = (struct iphdr *)(t.hdr + ETH_HLEN);
	iph->protocol = IPPROTO_UDP;
	KUNIT_EXPECT_FALSE(test, sgnic_tso_test_parse(&t, hlen));	/* not TCP */
	iph->protocol = IPPROTO_TCP;
	KUNIT_EXPECT_TRUE(test, sgnic_tso_test_parse(&t, hlen));
	/* The checksum request points elsewhere than the TCP checksum. */
	KUNIT_EXPECT_FALSE(test, sgnic_fman_tso_parse(&t, hlen, hlen + 100, hlen - 28,
						      offsetof(struct tcphdr, check), 1000));
	KUNIT_EXPECT_FALSE(test, sgnic_fman_tso_parse(&t, hlen, hlen + 100, hlen - 32,
						      offsetof(struct udphdr, check), 1000));
	/* No MSS, no payload, headers cut short, a frame that is all header. */
	KUNIT_EXPECT_FALSE(test, sgnic_fman_tso_parse(&t, hlen, hlen + 100, hlen - 32,
						      offsetof(struct tcphdr, check), 0));
	KUNIT_EXPECT_FALSE(test, sgnic_fman_tso_parse(&t, hlen, hlen, hlen - 32,
						      offsetof(struct tcphdr, check), 1000));
	KUNIT_EXPECT_FALSE(test, sgnic_fman_tso_parse(&t, hlen - 1, hlen + 100, hlen - 32,
						      offsetof(struct tcphdr, check), 1000));
	/* More segments than a superframe may have (the Rx FQ holds them). */
	KUNIT_EXPECT_TRUE(test, sgnic_fman_tso_parse(&t, hlen, hlen + 6400, hlen - 32,
						     offsetof(struct tcphdr, check), 100));
	KUNIT_EXPECT_FALSE(test, sgnic_fman_tso_parse(&t, hlen, hlen + 6401, hlen - 32,
						      offsetof(struct tcphdr, check), 100));
	((struct tcphdr *)(t.hdr + hlen - 32))->doff = 4;
	KUNIT_EXPECT_FALSE(test, sgnic_tso_test_parse(&t, hlen));	/* doff < 5 */

	hlen = sgnic_tso_superframe(&t, false, false);
	((struct ethhdr *)t.hdr)->h_proto = htons(ETH_P_ARP);
	KUNIT_EXPECT_FALSE(test, sgnic_tso_test_parse(&t, hlen));	/* not IP */
}

static struct kunit_case sgnic_fman_tso_test_cases[] = {
	KUNIT_CASE(sgnic_tso_ipv4),
	KUNIT_CASE(sgnic_tso_ipv6_vlan),
	KUNIT_CASE(sgnic_tso_refused),
	{}
};

static struct kunit_suite sgnic_fman_tso_suite = {
	.name = "sgnic_fman_tso",
	.test_cases = sgnic_fman_tso_test_cases,
};

kunit_test_suites(&sgnic_steer_geom_suite, &sgnic_steer_frame_suite,
		  &sgnic_fman_tso_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of sgnic's pure pieces");
