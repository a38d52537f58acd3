/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TSO in the frame manager: the headers of a superframe and how each of its
 * segments carries them.  A header of its own so that the KUnit suite (a
 * separate module) runs the very code the frame manager runs.
 */
#ifndef _SGNIC_FMAN_TSO_H
#define _SGNIC_FMAN_TSO_H

#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <net/checksum.h>
#include <net/ip6_checksum.h>

#include "sgnic_hw.h"

/* The headers of a superframe, as its segments will carry them. */
struct sgnic_fman_tso {
	u8 hdr[SGNIC_TSO_HDR_MAX];	/* the frame's first bytes */
	u32 l3off;			/* IP header */
	u32 l4off;			/* TCP header */
	u32 hlen;			/* payload */
	u32 mss;
	bool ipv6;
};

/*
 * Parses the headers a TSO request must have, from the first @plen bytes of
 * a frame of @len bytes already in @t->hdr: Ethernet (one VLAN tag at most),
 * IPv4 or IPv6 without extension headers, TCP right after it where the
 * checksum request (@csum_start, @csum_offset) points, a non-zero @mss and a
 * payload to cut into at most SGNIC_TSO_MAX_SEGS segments.  False when the
 * frame is not that.
 */
static inline bool sgnic_fman_tso_parse(struct sgnic_fman_tso *t, u32 plen, u32 len,
					u16 csum_start, u16 csum_offset, u16 mss)
{
	const struct ipv6hdr *ip6h;
	const struct iphdr *iph;
	const struct tcphdr *th;
	__be16 proto;

	if (plen > sizeof(t->hdr) || plen > len || plen < VLAN_ETH_HLEN)
		return false;
	proto = ((const struct ethhdr *)t->hdr)->h_proto;
	t->l3off = ETH_HLEN;
	if (proto == htons(ETH_P_8021Q)) {
		proto = ((const struct vlan_ethhdr *)t->hdr)->h_vlan_encapsulated_proto;
		t->l3off = VLAN_ETH_HLEN;
	}
	t->l4off = csum_start;
	t->mss = mss;
	if (proto == htons(ETH_P_IP)) {
		iph = (const struct iphdr *)(t->hdr + t->l3off);
		if (t->l3off + sizeof(*iph) > plen || iph->version != 4 ||
		    iph->protocol != IPPROTO_TCP || t->l3off + iph->ihl * 4 != t->l4off)
			return false;
		t->ipv6 = false;
	} else if (proto == htons(ETH_P_IPV6)) {
		ip6h = (const struct ipv6hdr *)(t->hdr + t->l3off);
		if (t->l3off + sizeof(*ip6h) != t->l4off || t->l4off > plen ||
		    ip6h->nexthdr != IPPROTO_TCP)
			return false;
		t->ipv6 = true;
	} else {
		return false;
	}
	if (t->l4off + sizeof(*th) > plen || csum_offset != offsetof(struct tcphdr, check))
		return false;
	th = (const struct tcphdr *)(t->hdr + t->l4off);
	t->hlen = t->l4off + th->doff * 4;
	return th->doff >= 5 && t->hlen <= plen && t->hlen < len && t->mss &&
	       DIV_ROUND_UP(len - t->hlen, t->mss) <= SGNIC_TSO_MAX_SEGS;
}

/*
 * Segment @i, payload bytes [@off, @off + @len): fixes the headers in
 * @t->hdr from the superframe's @orig, as tcp_gso_segment() does in
 * software.  Lengths, IPv4 id and header checksum, sequence number; FIN and
 * PSH on the @last segment only, CWR on the first only; the TCP checksum
 * seeded with the pseudo header, completed when the segment is written.
 */
static inline void sgnic_fman_tso_headers(struct sgnic_fman_tso *t, const u8 *orig,
					  u32 i, u32 off, u32 len, bool last)
{
	const struct tcphdr *oth = (const struct tcphdr *)(orig + t->l4off);
	struct tcphdr *th = (struct tcphdr *)(t->hdr + t->l4off);
	u32 tcplen = t->hlen - t->l4off + len;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;

	th->seq = htonl(ntohl(oth->seq) + off);
	th->fin = last && oth->fin;
	th->psh = last && oth->psh;
	th->cwr = !i && oth->cwr;
	if (t->ipv6) {
		ip6h = (struct ipv6hdr *)(t->hdr + t->l3off);
		ip6h->payload_len = htons(tcplen);
		th->check = ~csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, tcplen,
					     IPPROTO_TCP, 0);
		return;
	}
	iph = (struct iphdr *)(t->hdr + t->l3off);
	iph->tot_len = htons(t->hlen - t->l3off + len);
	iph->id = htons(ntohs(((const struct iphdr *)(orig + t->l3off))->id) + i);
	iph->check = 0;
	iph->check = ip_fast_csum(iph, iph->ihl);
	th->check = ~csum_tcpudp_magic(iph->saddr, iph->daddr, tcplen, IPPROTO_TCP, 0);
}

#endif /* _SGNIC_FMAN_TSO_H */
