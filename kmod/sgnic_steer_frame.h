/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The match key of a frame, as the steering engine's data path builds it.
 * A header of its own so that the KUnit suite (a separate module) runs the
 * very code the data path runs, on frames it builds itself.
 */
#ifndef _SGNIC_STEER_FRAME_H
#define _SGNIC_STEER_FRAME_H

#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <net/ip.h>

#include "sgnic_steer_key.h"

/*
 * Builds the key of a frame whose Ethernet header starts @mac bytes from
 * skb->data (negative on Rx, after eth_type_trans()).  Fields the frame
 * lacks stay zero.
 */
static inline void sgnic_steer_frame_key(const struct sk_buff *skb, int mac,
					 struct sgnic_steer_key *key)
{
	u8 *k = sgnic_steer_key_bytes(key);
	const struct vlan_hdr *vh;
	const struct ipv6hdr *ip6;
	const struct ethhdr *eth;
	const struct iphdr *ip4;
	struct vlan_hdr vbuf;
	struct ipv6hdr buf6;
	struct ethhdr ebuf;
	struct iphdr buf4;
	const __be16 *ports;
	__be16 pbuf[2], vid;
	int off;
	u8 proto;

	sgnic_steer_key_clear(key);
	eth = skb_header_pointer(skb, mac, sizeof(ebuf), &ebuf);
	if (!eth)
		return;
	memcpy(k + SGNIC_STEER_KEY_DMAC, eth->h_dest, ETH_ALEN);
	memcpy(k + SGNIC_STEER_KEY_SMAC, eth->h_source, ETH_ALEN);
	off = mac + ETH_HLEN;
	if (skb_vlan_tag_present(skb)) {
		vid = htons(skb_vlan_tag_get_id(skb));
		memcpy(k + SGNIC_STEER_KEY_VLAN_ID, &vid, sizeof(vid));
	} else if (eth_type_vlan(eth->h_proto)) {
		vh = skb_header_pointer(skb, off, sizeof(vbuf), &vbuf);
		if (!vh)
			return;
		vid = vh->h_vlan_TCI & htons(VLAN_VID_MASK);
		memcpy(k + SGNIC_STEER_KEY_VLAN_ID, &vid, sizeof(vid));
		memcpy(k + SGNIC_STEER_KEY_ETHERTYPE, &vh->h_vlan_encapsulated_proto, 2);
		off += VLAN_HLEN;
		goto l3;
	}
	memcpy(k + SGNIC_STEER_KEY_ETHERTYPE, &eth->h_proto, 2);
l3:
	if (*(__be16 *)(k + SGNIC_STEER_KEY_ETHERTYPE) == htons(ETH_P_IP)) {
		ip4 = skb_header_pointer(skb, off, sizeof(buf4), &buf4);
		if (!ip4 || ip4->ihl < 5)
			return;
		memcpy(k + SGNIC_STEER_KEY_IPV4_SRC, &ip4->saddr, 4);
		memcpy(k + SGNIC_STEER_KEY_IPV4_DST, &ip4->daddr, 4);
		proto = ip4->protocol;
		/* Only the first fragment carries the L4 header. */
		if (ip4->frag_off & htons(IP_OFFSET))
			proto = 0;
		k[SGNIC_STEER_KEY_IP_PROTO] = ip4->protocol;
		off += ip4->ihl * 4;
	} else if (*(__be16 *)(k + SGNIC_STEER_KEY_ETHERTYPE) == htons(ETH_P_IPV6)) {
		ip6 = skb_header_pointer(skb, off, sizeof(buf6), &buf6);
		if (!ip6)
			return;
		memcpy(k + SGNIC_STEER_KEY_IPV6_SRC, &ip6->saddr, 16);
		memcpy(k + SGNIC_STEER_KEY_IPV6_DST, &ip6->daddr, 16);
		proto = ip6->nexthdr;
		k[SGNIC_STEER_KEY_IP_PROTO] = proto;
		off += sizeof(*ip6);
	} else {
		return;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP)
		return;
	ports = skb_header_pointer(skb, off, sizeof(pbuf), pbuf);
	if (!ports)
		return;
	memcpy(k + SGNIC_STEER_KEY_L4_SPORT, &ports[0], 2);
	memcpy(k + SGNIC_STEER_KEY_L4_DPORT, &ports[1], 2);
}

#endif /* _SGNIC_STEER_FRAME_H */
