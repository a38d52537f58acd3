// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: the "sgnic" generic netlink family, as proto/sgnic.yaml describes
 * it.  Policies are strict and follow the spec's checks; every mutating op
 * is GENL_ADMIN_PERM; every error carries an extack message.  Control ops
 * take the port's steering lock (struct sgnic_steer) for their whole run, so
 * that a failed operation can undo what it did before anyone else looks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ethtool.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "sgnic.h"
#include "sgnic_nl.h"
#include "sgnic_steer.h"

/* Up to this many result nests fit a bulk reply; later failures are only counted. */
#define SGNIC_NL_BULK_REPLY_SIZE	(64 * 1024)

/* A formatted extack message: see sgnic_nl_set_msg() and sgnic_nl_ack_now(). */
#define SGNIC_NL_MSG_LEN		160

static struct sgnic_dev *sgnic_nl_dev;
static struct genl_family sgnic_nl_family;

/*
 * Steering objects change only through this family's requests: each one
 * that changed any matcher or rule bumps the generation (under its port's
 * lock), so that a matcher or rule dump spanning several messages can say
 * it was interrupted (NLM_F_DUMP_INTR, genl_dump_check_consistent), and the
 * port's own steer_gen, which the dev dump shows.
 */
static atomic_t sgnic_nl_generation = ATOMIC_INIT(1);

static void sgnic_nl_steer_changed(struct sgnic_steer *st)
{
	lockdep_assert_held(&st->lock);
	atomic_inc(&sgnic_nl_generation);
	st->steer_gen++;
}

enum sgnic_nl_mcgrp {
	SGNIC_NL_MCGRP_EVENTS,
};

/*
 * Sets extack's message to @msg, which may be formatted.  6.1 has no
 * formatted extack messages (NL_SET_ERR_MSG_FMT and its buffer inside the
 * extack came in 6.2; the macros take string literals only), so this is the
 * one place that writes the field itself.  @msg must live until the ack is
 * sent: a message in the handler's own buffer goes with sgnic_nl_ack_now().
 */
static void sgnic_nl_set_msg(struct netlink_ext_ack *extack, const char *msg)
{
	extack->_msg = msg;
}

/*
 * Sends the error ack of request @info now, while a message in the caller's
 * buffer still lives (netlink_rcv_skb() would send it after the handler
 * returned), and returns what tells netlink_rcv_skb() the request is
 * acknowledged already: -EINTR, as a dump start returns.
 */
static int sgnic_nl_ack_now(struct sk_buff *skb, struct genl_info *info, int err)
{
	netlink_ack(skb, info->nlhdr, err, info->extack);
	return -EINTR;
}

/* An inner message without the module prefix, to be wrapped in another. */
static const char *sgnic_nl_strip(const char *msg)
{
	static const char prefix[] = KBUILD_MODNAME ": ";

	if (!msg)
		return "failed";
	if (!strncmp(msg, prefix, sizeof(prefix) - 1))
		return msg + sizeof(prefix) - 1;
	return msg;
}

/* ---- policies (proto/sgnic.yaml checks) ---- */

static const struct nla_policy sgnic_nl_table_req_policy[SGNIC_A_TABLE_MAX + 1] = {
	[SGNIC_A_TABLE_SIZE_LOG] = NLA_POLICY_MAX(NLA_U32, 31),
};

static const struct nla_policy sgnic_nl_template_entry_policy[SGNIC_A_TEMPLATE_ENTRY_MAX + 1] = {
	[SGNIC_A_TEMPLATE_ENTRY_FIELD] = { .type = NLA_U32 },
	[SGNIC_A_TEMPLATE_ENTRY_MASK] = { .type = NLA_BINARY, .len = SGNIC_FIELD_MAX_LEN },
};

static const struct nla_policy sgnic_nl_match_entry_policy[SGNIC_A_MATCH_ENTRY_MAX + 1] = {
	[SGNIC_A_MATCH_ENTRY_FIELD] = { .type = NLA_U32 },
	[SGNIC_A_MATCH_ENTRY_VALUE] = { .type = NLA_BINARY, .len = SGNIC_FIELD_MAX_LEN },
};

static const struct nla_policy sgnic_nl_action_policy[SGNIC_A_ACTION_MAX + 1] = {
	[SGNIC_A_ACTION_TYPE] = { .type = NLA_U32 },
	[SGNIC_A_ACTION_MARK] = { .type = NLA_U32 },
	[SGNIC_A_ACTION_QUEUE] = { .type = NLA_U32 },
};

/* A rule nest of a bulk request: id, direction, match, action. */
static const struct nla_policy sgnic_nl_rule_req_policy[SGNIC_A_RULE_MAX + 1] = {
	[SGNIC_A_RULE_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_RULE_DIRECTION] = NLA_POLICY_MASK(NLA_U32, SGNIC_DIRECTION_MASK),
	[SGNIC_A_RULE_MATCH] = NLA_POLICY_NESTED(sgnic_nl_match_entry_policy),
	[SGNIC_A_RULE_ACTION] = NLA_POLICY_NESTED(sgnic_nl_action_policy),
	[SGNIC_A_RULE_COOKIE] = { .type = NLA_U64 },
	[SGNIC_A_RULE_OWNER] = NLA_POLICY_MAX(NLA_U32, 255),
};

static const struct nla_policy sgnic_nl_dev_get_policy[SGNIC_A_DEV_IFINDEX + 1] = {
	[SGNIC_A_DEV_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy sgnic_nl_pool_get_policy[SGNIC_A_POOL_IFINDEX + 1] = {
	[SGNIC_A_POOL_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy sgnic_nl_matcher_new_policy[SGNIC_A_MATCHER_OWNER + 1] = {
	[SGNIC_A_MATCHER_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_MATCHER_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_MATCHER_PRIORITY] = { .type = NLA_U32 },
	[SGNIC_A_MATCHER_TEMPLATE] = NLA_POLICY_NESTED(sgnic_nl_template_entry_policy),
	[SGNIC_A_MATCHER_RX_TABLE] = NLA_POLICY_NESTED(sgnic_nl_table_req_policy),
	[SGNIC_A_MATCHER_TX_TABLE] = NLA_POLICY_NESTED(sgnic_nl_table_req_policy),
	[SGNIC_A_MATCHER_COOKIE] = { .type = NLA_U64 },
	[SGNIC_A_MATCHER_OWNER] = NLA_POLICY_MAX(NLA_U32, 255),
};

static const struct nla_policy sgnic_nl_matcher_id_policy[SGNIC_A_MATCHER_IFINDEX + 1] = {
	[SGNIC_A_MATCHER_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_MATCHER_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy sgnic_nl_matcher_resize_policy[SGNIC_A_MATCHER_RESIZE_TARGET + 1] = {
	[SGNIC_A_MATCHER_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_MATCHER_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_MATCHER_RESIZE_TARGET] = { .type = NLA_U32 },
};

static const struct nla_policy sgnic_nl_rules_policy[SGNIC_A_RULES_RULE + 1] = {
	[SGNIC_A_RULES_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_RULES_MATCHER_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_RULES_FLAGS] = NLA_POLICY_MASK(NLA_U32, SGNIC_BULK_FLAGS_MASK),
	[SGNIC_A_RULES_RULE] = NLA_POLICY_NESTED(sgnic_nl_rule_req_policy),
};

static const struct nla_policy sgnic_nl_rule_get_policy[SGNIC_A_RULE_LAST_ID + 1] = {
	[SGNIC_A_RULE_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_RULE_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_RULE_MATCHER_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[SGNIC_A_RULE_LAST_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

/* ---- ports ---- */

/* Ports live until the module goes, after the family is unregistered. */
static struct sgnic_port *sgnic_nl_port(struct net *net, u32 ifindex)
{
	struct sgnic_port *port = NULL;
	struct net_device *dev;

	rcu_read_lock();
	dev = dev_get_by_index_rcu(net, ifindex);
	if (dev && dev->ethtool_ops == &sgnic_ethtool_ops)
		port = netdev_priv(dev);
	rcu_read_unlock();
	return port;
}

static struct sgnic_port *sgnic_nl_info_port(struct genl_info *info, int attr)
{
	struct sgnic_port *port;

	if (GENL_REQ_ATTR_CHECK(info, attr)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing ifindex");
		return ERR_PTR(-EINVAL);
	}
	port = sgnic_nl_port(genl_info_net(info), nla_get_u32(info->attrs[attr]));
	if (!port) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[attr],
				    "sgnic: ifindex is not an sgnic port");
		return ERR_PTR(-ENODEV);
	}
	return port;
}

/* The next port at or after *idx in @net; NULL at the end. */
static struct sgnic_port *sgnic_nl_dump_port(struct net *net, long *idx)
{
	struct sgnic_dev *sd = sgnic_nl_dev;
	struct sgnic_port *port;

	for (; *idx < sd->nports; (*idx)++) {
		port = sd->ports[*idx];
		if (net_eq(dev_net(port->netdev), net))
			return port;
	}
	return NULL;
}

/* ---- message fill ---- */

static int sgnic_nl_put_table(struct sk_buff *skb, int attr, int size_log, u32 rules,
			      u64 pages)
{
	struct nlattr *nest = nla_nest_start(skb, attr);

	if (!nest)
		return -EMSGSIZE;
	if ((size_log >= 0 && nla_put_u32(skb, SGNIC_A_TABLE_SIZE_LOG, size_log)) ||
	    nla_put_u32(skb, SGNIC_A_TABLE_RULES, rules) ||
	    nla_put_u64_64bit(skb, SGNIC_A_TABLE_PAGES, pages, SGNIC_A_TABLE_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int sgnic_nl_put_caps(struct sk_buff *skb)
{
	struct nlattr *nest = nla_nest_start(skb, SGNIC_A_DEV_CAPS);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, SGNIC_A_CAPS_STE_ALLOC_LOG_MAX, SGNIC_STEER_STE_ALLOC_LOG_MAX) ||
	    nla_put_u32(skb, SGNIC_A_CAPS_RTC_LOG_DEPTH_MAX, SGNIC_STEER_RTC_LOG_DEPTH_MAX) ||
	    nla_put_u32(skb, SGNIC_A_CAPS_MAX_MATCHERS, SGNIC_STEER_MAX_MATCHERS) ||
	    nla_put_u32(skb, SGNIC_A_CAPS_MAX_ACTION_TEMPLATES,
			SGNIC_STEER_MAX_ACTION_TEMPLATES) ||
	    nla_put_u32(skb, SGNIC_A_CAPS_SUPPORTED_FIELDS, SGNIC_STEER_FIELDS_ALL)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Caller holds the port's steering lock. */
static int sgnic_nl_fill_dev(struct sk_buff *skb, struct sgnic_port *port, u8 cmd,
			     u32 portid, u32 seq, int flags)
{
	struct sgnic_steer *st = port->steer;
	u32 rules[SGNIC_STEER_DIRS];
	u64 pages[SGNIC_STEER_DIRS];
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &sgnic_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	sgnic_steer_usage(st, rules, pages);
	if (nla_put_u32(skb, SGNIC_A_DEV_IFINDEX, port->netdev->ifindex) ||
	    nla_put_string(skb, SGNIC_A_DEV_NAME, port->netdev->name) ||
	    nla_put_u32(skb, SGNIC_A_DEV_PEER_IFINDEX, port->peer->netdev->ifindex) ||
	    sgnic_nl_put_caps(skb) ||
	    sgnic_nl_put_table(skb, SGNIC_A_DEV_RX, -1, rules[SGNIC_STEER_RX],
			       pages[SGNIC_STEER_RX]) ||
	    sgnic_nl_put_table(skb, SGNIC_A_DEV_TX, -1, rules[SGNIC_STEER_TX],
			       pages[SGNIC_STEER_TX]) ||
	    nla_put_u32(skb, SGNIC_A_DEV_MATCHERS, st->n_matchers) ||
	    nla_put_u32(skb, SGNIC_A_DEV_RULE_LIMIT, st->rule_limit) ||
	    nla_put_u64_64bit(skb, SGNIC_A_DEV_RULE_OPS, st->rule_ops, SGNIC_A_DEV_PAD) ||
	    nla_put_u64_64bit(skb, SGNIC_A_DEV_STEER_GEN, st->steer_gen, SGNIC_A_DEV_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int sgnic_nl_put_template(struct sk_buff *skb, const struct sgnic_steer_template *t)
{
	const struct sgnic_steer_field *f;
	struct nlattr *nest;
	u32 field;

	for (field = 0; field <= SGNIC_MATCH_FIELD_MAX; field++) {
		if (!(t->fields & BIT(field)))
			continue;
		f = sgnic_steer_field(field);
		nest = nla_nest_start(skb, SGNIC_A_MATCHER_TEMPLATE);
		if (!nest ||
		    nla_put_u32(skb, SGNIC_A_TEMPLATE_ENTRY_FIELD, field) ||
		    nla_put(skb, SGNIC_A_TEMPLATE_ENTRY_MASK, f->len,
			    sgnic_steer_key_cbytes(&t->mask) + f->offset))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	return 0;
}

/* Caller holds the port's steering lock. */
static int sgnic_nl_fill_matcher(struct sk_buff *skb, struct sgnic_steer_matcher *m,
				 u8 cmd, u32 portid, u32 seq, int flags,
				 struct netlink_callback *cb)
{
	const struct sgnic_steer_table *rx = &m->tbl[SGNIC_STEER_RX];
	const struct sgnic_steer_table *tx = &m->tbl[SGNIC_STEER_TX];
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &sgnic_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (nla_put_u32(skb, SGNIC_A_MATCHER_ID, m->id) ||
	    nla_put_u32(skb, SGNIC_A_MATCHER_IFINDEX, m->st->port->netdev->ifindex) ||
	    nla_put_u32(skb, SGNIC_A_MATCHER_PRIORITY, m->priority) ||
	    sgnic_nl_put_template(skb, &m->tmpl) ||
	    sgnic_nl_put_table(skb, SGNIC_A_MATCHER_RX_TABLE, rx->geom.size_log, rx->rules,
			       sgnic_steer_table_pages(rx)) ||
	    sgnic_nl_put_table(skb, SGNIC_A_MATCHER_TX_TABLE, tx->geom.size_log, tx->rules,
			       sgnic_steer_table_pages(tx)) ||
	    nla_put_u32(skb, SGNIC_A_MATCHER_RESIZE_TARGET,
			m->resize_target ? m->resize_target->id : 0) ||
	    nla_put_u32(skb, SGNIC_A_MATCHER_RESIZE_SOURCE,
			m->resize_source ? m->resize_source->id : 0) ||
	    nla_put_u32(skb, SGNIC_A_MATCHER_ACTION_TEMPLATES, m->n_acts) ||
	    nla_put_u64_64bit(skb, SGNIC_A_MATCHER_COOKIE, m->cookie, SGNIC_A_MATCHER_PAD) ||
	    nla_put_u32(skb, SGNIC_A_MATCHER_OWNER, m->owner) ||
	    nla_put_u32(skb, SGNIC_A_MATCHER_RULES, m->rules)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Only the directions in which the rule counts: a rule without count has none. */
static int sgnic_nl_put_counters(struct sk_buff *skb, int attr,
				 const struct sgnic_steer_matcher *m,
				 const struct sgnic_steer_rule *rule, unsigned int dir)
{
	struct nlattr *nest;
	u64 packets, bytes;

	if (!sgnic_steer_rule_read(m, rule, dir, &packets, &bytes))
		return 0;
	nest = nla_nest_start(skb, attr);
	if (!nest ||
	    nla_put_u64_64bit(skb, SGNIC_A_COUNTERS_PACKETS, packets, SGNIC_A_COUNTERS_PAD) ||
	    nla_put_u64_64bit(skb, SGNIC_A_COUNTERS_BYTES, bytes, SGNIC_A_COUNTERS_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int sgnic_nl_put_rule_body(struct sk_buff *skb, const struct sgnic_steer_matcher *m,
				  const struct sgnic_steer_rule *rule)
{
	const struct sgnic_steer_template *t = &m->tmpl;
	const struct sgnic_steer_acts *a = rule->acts;
	const struct sgnic_steer_field *f;
	struct sgnic_steer_key key;
	struct nlattr *nest;
	unsigned int i;
	u32 field;

	sgnic_steer_rule_match(m, rule, &key);
	for (field = 0; field <= SGNIC_MATCH_FIELD_MAX; field++) {
		if (!(t->fields & BIT(field)))
			continue;
		f = sgnic_steer_field(field);
		nest = nla_nest_start(skb, SGNIC_A_RULE_MATCH);
		if (!nest ||
		    nla_put_u32(skb, SGNIC_A_MATCH_ENTRY_FIELD, field) ||
		    nla_put(skb, SGNIC_A_MATCH_ENTRY_VALUE, f->len,
			    sgnic_steer_key_cbytes(&key) + f->offset))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	for (i = 0; i < a->n; i++) {
		nest = nla_nest_start(skb, SGNIC_A_RULE_ACTION);
		if (!nest || nla_put_u32(skb, SGNIC_A_ACTION_TYPE, a->types[i]))
			return -EMSGSIZE;
		if (a->types[i] == SGNIC_ACTION_TYPE_MARK &&
		    nla_put_u32(skb, SGNIC_A_ACTION_MARK, sgnic_steer_rule_mark(m, rule)))
			return -EMSGSIZE;
		if (a->types[i] == SGNIC_ACTION_TYPE_QUEUE &&
		    nla_put_u32(skb, SGNIC_A_ACTION_QUEUE, rule->queue))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	return 0;
}

/* Caller holds the port's steering lock. */
static int sgnic_nl_fill_rule(struct sk_buff *skb, const struct sgnic_steer *st,
			      const struct sgnic_steer_rule *rule,
			      u32 portid, u32 seq, int flags, struct netlink_callback *cb)
{
	const struct sgnic_steer_matcher *m = sgnic_steer_rule_matcher(st, rule);
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &sgnic_nl_family, flags, SGNIC_CMD_RULE_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (nla_put_u32(skb, SGNIC_A_RULE_ID, rule->id) ||
	    nla_put_u32(skb, SGNIC_A_RULE_IFINDEX, st->port->netdev->ifindex) ||
	    nla_put_u32(skb, SGNIC_A_RULE_MATCHER_ID, m->id) ||
	    nla_put_u32(skb, SGNIC_A_RULE_DIRECTION, rule->dirs) ||
	    sgnic_nl_put_rule_body(skb, m, rule) ||
	    sgnic_nl_put_counters(skb, SGNIC_A_RULE_RX_COUNTERS, m, rule, SGNIC_STEER_RX) ||
	    sgnic_nl_put_counters(skb, SGNIC_A_RULE_TX_COUNTERS, m, rule, SGNIC_STEER_TX) ||
	    nla_put_u64_64bit(skb, SGNIC_A_RULE_COOKIE, rule->cookie, SGNIC_A_RULE_PAD) ||
	    nla_put_u32(skb, SGNIC_A_RULE_OWNER, rule->owner)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* ---- events ---- */

static void sgnic_nl_notify_matcher(struct sgnic_steer_matcher *m, u8 cmd)
{
	struct net *net = dev_net(m->st->port->netdev);
	struct sk_buff *skb;

	if (!genl_has_listeners(&sgnic_nl_family, net, SGNIC_NL_MCGRP_EVENTS))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	if (sgnic_nl_fill_matcher(skb, m, cmd, 0, 0, 0, NULL)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast_netns(&sgnic_nl_family, net, skb, 0, SGNIC_NL_MCGRP_EVENTS,
				GFP_KERNEL);
}

/* Resize done: @m holds the rules of the deleted matcher @source_id. */
static void sgnic_nl_notify_resized(struct sgnic_steer_matcher *m, u32 source_id)
{
	struct net *net = dev_net(m->st->port->netdev);
	const struct sgnic_steer_table *rx = &m->tbl[SGNIC_STEER_RX];
	const struct sgnic_steer_table *tx = &m->tbl[SGNIC_STEER_TX];
	struct sk_buff *skb;
	void *hdr;

	if (!genl_has_listeners(&sgnic_nl_family, net, SGNIC_NL_MCGRP_EVENTS))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &sgnic_nl_family, 0, SGNIC_CMD_MATCHER_RESIZED_NTF);
	if (!hdr ||
	    nla_put_u32(skb, SGNIC_A_MATCHER_IFINDEX, m->st->port->netdev->ifindex) ||
	    nla_put_u32(skb, SGNIC_A_MATCHER_ID, m->id) ||
	    nla_put_u32(skb, SGNIC_A_MATCHER_RESIZE_SOURCE, source_id) ||
	    sgnic_nl_put_table(skb, SGNIC_A_MATCHER_RX_TABLE, rx->geom.size_log, rx->rules,
			       sgnic_steer_table_pages(rx)) ||
	    sgnic_nl_put_table(skb, SGNIC_A_MATCHER_TX_TABLE, tx->geom.size_log, tx->rules,
			       sgnic_steer_table_pages(tx))) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast_netns(&sgnic_nl_family, net, skb, 0, SGNIC_NL_MCGRP_EVENTS,
				GFP_KERNEL);
}

static void sgnic_nl_notify_dev(struct sgnic_port *port, u8 cmd)
{
	struct net *net = dev_net(port->netdev);
	struct sk_buff *skb;
	int err;

	if (!genl_has_listeners(&sgnic_nl_family, net, SGNIC_NL_MCGRP_EVENTS))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	mutex_lock(&port->steer->lock);
	err = sgnic_nl_fill_dev(skb, port, cmd, 0, 0, 0);
	mutex_unlock(&port->steer->lock);
	if (err) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast_netns(&sgnic_nl_family, net, skb, 0, SGNIC_NL_MCGRP_EVENTS,
				GFP_KERNEL);
}

/* ---- dev-get ---- */

static int sgnic_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sgnic_port *port = sgnic_nl_info_port(info, SGNIC_A_DEV_IFINDEX);
	struct sk_buff *msg;
	int err;

	if (IS_ERR(port))
		return PTR_ERR(port);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&port->steer->lock);
	err = sgnic_nl_fill_dev(msg, port, SGNIC_CMD_DEV_GET, info->snd_portid,
				info->snd_seq, 0);
	mutex_unlock(&port->steer->lock);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int sgnic_nl_dev_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct sgnic_port *port;
	int err = 0;

	while ((port = sgnic_nl_dump_port(sock_net(skb->sk), &cb->args[0]))) {
		mutex_lock(&port->steer->lock);
		err = sgnic_nl_fill_dev(skb, port, SGNIC_CMD_DEV_GET,
					NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
					NLM_F_MULTI);
		mutex_unlock(&port->steer->lock);
		if (err)
			break;
		cb->args[0]++;
	}
	if (err)
		return skb->len ?: err;
	return skb->len;
}

/* ---- portal-get and pool-get: the data path's state ---- */

static int sgnic_nl_fill_portal(struct sk_buff *skb, struct sgnic_portal *portal,
				u32 portid, u32 seq)
{
	struct sgnic_dev *sd = sgnic_nl_dev;
	u64 enqueued = 0, busy = 0, waiting = 0;
	struct sgnic_fq *fq;
	unsigned int i;
	void *hdr;

	/*
	 * What the CPU's Tx FQs took in and refused, over all ports; what its
	 * Rx and Tx-confirm FQs hold for the DQRR, which like the hardware's
	 * shows at most its size of them.
	 */
	for (i = 0; i < sd->nports; i++) {
		fq = &sd->ports[i]->fqs[portal->cpu].tx;
		enqueued += READ_ONCE(fq->enqueued);
		busy += READ_ONCE(fq->busy);
		waiting += READ_ONCE(sd->ports[i]->fqs[portal->cpu].rx.count);
		waiting += READ_ONCE(sd->ports[i]->fqs[portal->cpu].conf.count);
	}
	hdr = genlmsg_put(skb, portid, seq, &sgnic_nl_family, NLM_F_MULTI,
			  SGNIC_CMD_PORTAL_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, SGNIC_A_PORTAL_ID, portal->cpu) ||
	    nla_put_u32(skb, SGNIC_A_PORTAL_CPU, portal->cpu) ||
	    nla_put_u32(skb, SGNIC_A_PORTAL_DQRR_SIZE, SGNIC_DQRR_SIZE) ||
	    nla_put_u32(skb, SGNIC_A_PORTAL_DQRR_FILL,
			min_t(u32, waiting, SGNIC_DQRR_SIZE)) ||
	    nla_put_u64_64bit(skb, SGNIC_A_PORTAL_ENQUEUED, enqueued, SGNIC_A_PORTAL_PAD) ||
	    nla_put_u64_64bit(skb, SGNIC_A_PORTAL_ENQUEUE_BUSY, busy, SGNIC_A_PORTAL_PAD) ||
	    nla_put_u64_64bit(skb, SGNIC_A_PORTAL_DEQUEUED, READ_ONCE(portal->dequeued),
			      SGNIC_A_PORTAL_PAD)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int sgnic_nl_portal_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct sgnic_dev *sd = sgnic_nl_dev;
	struct sgnic_portal *portal;
	int err;

	for (; cb->args[0] < nr_cpu_ids; cb->args[0]++) {
		portal = sd->portals[cb->args[0]];
		if (!portal)
			continue;
		err = sgnic_nl_fill_portal(skb, portal, NETLINK_CB(cb->skb).portid,
					   cb->nlh->nlmsg_seq);
		if (err)
			return skb->len ?: err;
	}
	return skb->len;
}

static int sgnic_nl_fill_pool(struct sk_buff *skb, struct sgnic_port *port, u32 portid,
			      u32 seq)
{
	struct sgnic_bpool *pool = &port->bpool;
	struct nlattr *nest;
	struct sgnic_stats s;
	unsigned int cpu;
	u64 nobuf = 0;
	void *hdr;

	for_each_possible_cpu(cpu) {
		sgnic_stats_read(port, cpu, &s);
		nobuf += s.v[SGNIC_STAT_RX_NOBUF];
	}
	hdr = genlmsg_put(skb, portid, seq, &sgnic_nl_family, NLM_F_MULTI,
			  SGNIC_CMD_POOL_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, SGNIC_A_POOL_BPID, pool->bpid) ||
	    nla_put_u32(skb, SGNIC_A_POOL_IFINDEX, port->netdev->ifindex) ||
	    nla_put_u32(skb, SGNIC_A_POOL_BUFFER_SIZE, READ_ONCE(pool->buf_len)) ||
	    nla_put_u32(skb, SGNIC_A_POOL_COUNT, sgnic_bpool_avail(pool)) ||
	    nla_put_u32(skb, SGNIC_A_POOL_REFILL_THRESHOLD, SGNIC_BPOOL_LOW_WATER) ||
	    nla_put_u64_64bit(skb, SGNIC_A_POOL_ACQUIRED, READ_ONCE(pool->acquired),
			      SGNIC_A_POOL_PAD) ||
	    nla_put_u64_64bit(skb, SGNIC_A_POOL_RELEASED, READ_ONCE(pool->released),
			      SGNIC_A_POOL_PAD) ||
	    nla_put_u64_64bit(skb, SGNIC_A_POOL_REFILLS, atomic64_read(&pool->refills),
			      SGNIC_A_POOL_PAD) ||
	    nla_put_u64_64bit(skb, SGNIC_A_POOL_DEPLETED, nobuf, SGNIC_A_POOL_PAD))
		goto cancel;
	for_each_possible_cpu(cpu) {
		nest = nla_nest_start(skb, SGNIC_A_POOL_PERCPU);
		if (!nest ||
		    nla_put_u32(skb, SGNIC_A_POOL_PERCPU_CPU, cpu) ||
		    nla_put_u32(skb, SGNIC_A_POOL_PERCPU_COUNT,
				max(READ_ONCE(*per_cpu_ptr(pool->count, cpu)), 0)))
			goto cancel;
		nla_nest_end(skb, nest);
	}
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int sgnic_nl_pool_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct nlattr *ifattr = info->attrs[SGNIC_A_POOL_IFINDEX];
	struct net *net = sock_net(skb->sk);
	struct sgnic_port *port;
	int err;

	if (ifattr && !sgnic_nl_port(net, nla_get_u32(ifattr))) {
		NL_SET_ERR_MSG_ATTR(cb->extack, ifattr, "sgnic: ifindex is not an sgnic port");
		return -ENODEV;
	}
	while ((port = sgnic_nl_dump_port(net, &cb->args[0]))) {
		if (!ifattr || port->netdev->ifindex == nla_get_u32(ifattr)) {
			err = sgnic_nl_fill_pool(skb, port, NETLINK_CB(cb->skb).portid,
						 cb->nlh->nlmsg_seq);
			if (err)
				return skb->len ?: err;
		}
		cb->args[0]++;
	}
	return skb->len;
}

/* ---- matchers ---- */

static int sgnic_nl_parse_template(struct genl_info *info, struct sgnic_steer_template *t)
{
	struct nlattr *tb[SGNIC_A_TEMPLATE_ENTRY_MAX + 1];
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *a, *mask;
	u32 field;
	int rem, err;

	sgnic_steer_template_init(t);
	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(a) != SGNIC_A_MATCHER_TEMPLATE)
			continue;
		err = nla_parse_nested(tb, SGNIC_A_TEMPLATE_ENTRY_MAX, a,
				       sgnic_nl_template_entry_policy, extack);
		if (err)
			return err;
		if (!tb[SGNIC_A_TEMPLATE_ENTRY_FIELD] || !tb[SGNIC_A_TEMPLATE_ENTRY_MASK]) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "sgnic: template entry needs field and mask");
			return -EINVAL;
		}
		field = nla_get_u32(tb[SGNIC_A_TEMPLATE_ENTRY_FIELD]);
		if (field > SGNIC_MATCH_FIELD_MAX) {
			NL_SET_ERR_MSG_ATTR(extack, tb[SGNIC_A_TEMPLATE_ENTRY_FIELD],
					    "sgnic: unknown template field");
			return -EINVAL;
		}
		if (!(SGNIC_STEER_FIELDS_ALL & BIT(field))) {
			NL_SET_ERR_MSG_ATTR(extack, tb[SGNIC_A_TEMPLATE_ENTRY_FIELD],
					    "sgnic: template field not supported by the device");
			return -EOPNOTSUPP;
		}
		if (t->fields & BIT(field)) {
			NL_SET_ERR_MSG_ATTR(extack, a, "sgnic: template field given twice");
			return -EINVAL;
		}
		mask = tb[SGNIC_A_TEMPLATE_ENTRY_MASK];
		if (sgnic_steer_template_add(t, field, nla_data(mask), nla_len(mask))) {
			NL_SET_ERR_MSG_ATTR(extack, mask,
					    "sgnic: template mask: wrong length, zero or wider than the field");
			return -EINVAL;
		}
	}
	if (!t->fields) {
		NL_SET_ERR_MSG_MOD(extack, "the template needs at least one field");
		NL_SET_ERR_ATTR_MISS(extack, NULL, SGNIC_A_MATCHER_TEMPLATE);
		return -EINVAL;
	}
	return 0;
}

static int sgnic_nl_parse_size_log(struct genl_info *info, int attr, u32 *size_log)
{
	struct nlattr *tb[SGNIC_A_TABLE_MAX + 1];
	int err;

	*size_log = 0;
	if (!info->attrs[attr])
		return 0;
	err = nla_parse_nested(tb, SGNIC_A_TABLE_MAX, info->attrs[attr],
			       sgnic_nl_table_req_policy, info->extack);
	if (err)
		return err;
	if (!tb[SGNIC_A_TABLE_SIZE_LOG])
		return 0;
	*size_log = nla_get_u32(tb[SGNIC_A_TABLE_SIZE_LOG]);
	if (!sgnic_steer_size_log_valid(*size_log)) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[SGNIC_A_TABLE_SIZE_LOG],
				    "sgnic: size-log beyond the caps (ste-alloc-log-max - 2)");
		return -ERANGE;
	}
	return 0;
}

static int sgnic_nl_matcher_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sgnic_port *port = sgnic_nl_info_port(info, SGNIC_A_MATCHER_IFINDEX);
	u32 size_log[SGNIC_STEER_DIRS], id = 0, prio = 0;
	struct sgnic_steer_template tmpl;
	u64 cookie = 0;
	u8 owner = 0;
	struct sgnic_steer_matcher *m;
	struct sk_buff *msg;
	int err;

	if (IS_ERR(port))
		return PTR_ERR(port);
	err = sgnic_nl_parse_template(info, &tmpl) ?:
	      sgnic_nl_parse_size_log(info, SGNIC_A_MATCHER_RX_TABLE, &size_log[SGNIC_STEER_RX]) ?:
	      sgnic_nl_parse_size_log(info, SGNIC_A_MATCHER_TX_TABLE, &size_log[SGNIC_STEER_TX]);
	if (err)
		return err;
	if (info->attrs[SGNIC_A_MATCHER_ID])
		id = nla_get_u32(info->attrs[SGNIC_A_MATCHER_ID]);
	if (info->attrs[SGNIC_A_MATCHER_PRIORITY])
		prio = nla_get_u32(info->attrs[SGNIC_A_MATCHER_PRIORITY]);
	if (info->attrs[SGNIC_A_MATCHER_COOKIE])
		cookie = nla_get_u64(info->attrs[SGNIC_A_MATCHER_COOKIE]);
	if (info->attrs[SGNIC_A_MATCHER_OWNER])
		owner = nla_get_u32(info->attrs[SGNIC_A_MATCHER_OWNER]);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	mutex_lock(&port->steer->lock);
	m = sgnic_steer_matcher_create(port->steer, id, prio, cookie, owner, &tmpl, size_log,
				       info->extack);
	if (IS_ERR(m)) {
		err = PTR_ERR(m);
		if (err == -EEXIST || err == -EDQUOT)
			NL_SET_BAD_ATTR(info->extack, info->attrs[SGNIC_A_MATCHER_ID]);
		goto unlock;
	}
	err = sgnic_nl_fill_matcher(msg, m, SGNIC_CMD_MATCHER_NEW, info->snd_portid,
				    info->snd_seq, 0, NULL);
	if (WARN_ON_ONCE(err)) {
		sgnic_steer_matcher_destroy(m, NULL);
		goto unlock;
	}
	sgnic_nl_steer_changed(port->steer);
	sgnic_nl_notify_matcher(m, SGNIC_CMD_MATCHER_NEW_NTF);
	mutex_unlock(&port->steer->lock);
	return genlmsg_reply(msg, info);

unlock:
	mutex_unlock(&port->steer->lock);
	nlmsg_free(msg);
	return err;
}

/* Port and matcher of a request; on success the port's lock is held. */
static struct sgnic_steer_matcher *sgnic_nl_lock_matcher(struct genl_info *info,
							 int ifattr, int idattr)
{
	struct sgnic_port *port = sgnic_nl_info_port(info, ifattr);
	struct sgnic_steer_matcher *m;

	if (IS_ERR(port))
		return ERR_CAST(port);
	if (GENL_REQ_ATTR_CHECK(info, idattr)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing matcher id");
		return ERR_PTR(-EINVAL);
	}
	mutex_lock(&port->steer->lock);
	m = sgnic_steer_matcher_find(port->steer, nla_get_u32(info->attrs[idattr]));
	if (!m) {
		mutex_unlock(&port->steer->lock);
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[idattr],
				    "sgnic: unknown matcher id");
		return ERR_PTR(-ENOENT);
	}
	return m;
}

static int sgnic_nl_matcher_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sgnic_steer_matcher *m, *target;
	struct sgnic_steer *st;
	struct sk_buff *ntf;
	u32 id;
	int err;

	m = sgnic_nl_lock_matcher(info, SGNIC_A_MATCHER_IFINDEX, SGNIC_A_MATCHER_ID);
	if (IS_ERR(m))
		return PTR_ERR(m);
	st = m->st;
	id = m->id;
	target = m->resize_target;
	/* The notification describes the matcher as it was. */
	ntf = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (ntf && sgnic_nl_fill_matcher(ntf, m, SGNIC_CMD_MATCHER_DEL_NTF, 0, 0, 0, NULL)) {
		nlmsg_free(ntf);
		ntf = NULL;
	}
	err = sgnic_steer_matcher_destroy(m, info->extack);
	if (err) {
		NL_SET_BAD_ATTR(info->extack, info->attrs[SGNIC_A_MATCHER_ID]);
		nlmsg_free(ntf);
	} else {
		sgnic_nl_steer_changed(st);
		if (ntf)
			genlmsg_multicast_netns(&sgnic_nl_family, dev_net(st->port->netdev),
						ntf, 0, SGNIC_NL_MCGRP_EVENTS, GFP_KERNEL);
		if (target)
			sgnic_nl_notify_resized(target, id);
	}
	mutex_unlock(&st->lock);
	return err;
}

static int sgnic_nl_matcher_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sgnic_steer_matcher *m;
	struct sk_buff *msg;
	int err;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	m = sgnic_nl_lock_matcher(info, SGNIC_A_MATCHER_IFINDEX, SGNIC_A_MATCHER_ID);
	if (IS_ERR(m)) {
		nlmsg_free(msg);
		return PTR_ERR(m);
	}
	err = sgnic_nl_fill_matcher(msg, m, SGNIC_CMD_MATCHER_GET, info->snd_portid,
				    info->snd_seq, 0, NULL);
	mutex_unlock(&m->st->lock);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/* The matcher of @st with the lowest id >= @from. */
static struct sgnic_steer_matcher *sgnic_nl_next_matcher(struct sgnic_steer *st, u32 from)
{
	struct sgnic_steer_matcher *m, *best = NULL;

	list_for_each_entry(m, &st->matchers, node)
		if (m->id >= from && (!best || m->id < best->id))
			best = m;
	return best;
}

static int sgnic_nl_matcher_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct nlattr *ifattr = info->attrs[SGNIC_A_MATCHER_IFINDEX];
	struct net *net = sock_net(skb->sk);
	struct sgnic_steer_matcher *m;
	struct sgnic_port *port;
	int err = 0;

	if (ifattr && !sgnic_nl_port(net, nla_get_u32(ifattr))) {
		NL_SET_ERR_MSG_ATTR(cb->extack, ifattr, "sgnic: ifindex is not an sgnic port");
		return -ENODEV;
	}
	/* args[0]: port index, args[1]: next matcher id on that port. */
	while ((port = sgnic_nl_dump_port(net, &cb->args[0]))) {
		if (ifattr && port->netdev->ifindex != nla_get_u32(ifattr))
			goto next_port;
		mutex_lock(&port->steer->lock);
		cb->seq = atomic_read(&sgnic_nl_generation);
		while ((m = sgnic_nl_next_matcher(port->steer, cb->args[1]))) {
			err = sgnic_nl_fill_matcher(skb, m, SGNIC_CMD_MATCHER_GET,
						    NETLINK_CB(cb->skb).portid,
						    cb->nlh->nlmsg_seq, NLM_F_MULTI, cb);
			if (err)
				break;
			cb->args[1] = (long)m->id + 1;
		}
		mutex_unlock(&port->steer->lock);
		if (err)
			return skb->len ?: err;
next_port:
		cb->args[0]++;
		cb->args[1] = 0;
	}
	return skb->len;
}

static int sgnic_nl_matcher_resize_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sgnic_steer_matcher *m;
	u32 target;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, SGNIC_A_MATCHER_RESIZE_TARGET)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing resize-target");
		return -EINVAL;
	}
	m = sgnic_nl_lock_matcher(info, SGNIC_A_MATCHER_IFINDEX, SGNIC_A_MATCHER_ID);
	if (IS_ERR(m))
		return PTR_ERR(m);
	target = nla_get_u32(info->attrs[SGNIC_A_MATCHER_RESIZE_TARGET]);
	err = sgnic_steer_matcher_set_resize(m, target, info->extack);
	if (err)
		NL_SET_BAD_ATTR(info->extack, info->attrs[SGNIC_A_MATCHER_RESIZE_TARGET]);
	else
		sgnic_nl_steer_changed(m->st);
	mutex_unlock(&m->st->lock);
	return err;
}

/* ---- bulk rule operations ---- */

enum sgnic_nl_bulk_op {
	SGNIC_NL_BULK_NEW,
	SGNIC_NL_BULK_DEL,
	SGNIC_NL_BULK_MOVE,
};

struct sgnic_nl_bulk {
	struct genl_info *info;
	enum sgnic_nl_bulk_op op;
	struct sgnic_steer *st;
	struct sgnic_steer_matcher *m;	/* matcher-id, or NULL */
	bool cont;
	u32 n;				/* rule nests in the request */
	u32 applied;
	u32 failed;
	/* Unit mode undo log (new: ids; move: staged copies; del: claimed rules). */
	u32 *ids;
	struct sgnic_steer_rule **rules;
	u32 n_done;
	struct sk_buff *reply;
	void *hdr;
	bool reply_full;
};

static int sgnic_nl_parse_match(struct sgnic_steer_matcher *m, struct nlattr *a,
				struct sgnic_steer_key *key, u32 *seen,
				struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SGNIC_A_MATCH_ENTRY_MAX + 1];
	struct nlattr *val;
	u32 field;
	int err;

	/* Validated with the request: see sgnic_nl_bulk_one(). */
	err = nla_parse_nested(tb, SGNIC_A_MATCH_ENTRY_MAX, a, NULL, extack);
	if (err)
		return err;
	if (!tb[SGNIC_A_MATCH_ENTRY_FIELD] || !tb[SGNIC_A_MATCH_ENTRY_VALUE]) {
		NL_SET_ERR_MSG_ATTR(extack, a, "sgnic: match entry needs field and value");
		return -EINVAL;
	}
	field = nla_get_u32(tb[SGNIC_A_MATCH_ENTRY_FIELD]);
	if (field > SGNIC_MATCH_FIELD_MAX || !(m->tmpl.fields & BIT(field))) {
		NL_SET_ERR_MSG_ATTR(extack, tb[SGNIC_A_MATCH_ENTRY_FIELD],
				    "sgnic: match field not in the matcher's template");
		return -EINVAL;
	}
	if (*seen & BIT(field)) {
		NL_SET_ERR_MSG_ATTR(extack, a, "sgnic: match field given twice");
		return -EINVAL;
	}
	*seen |= BIT(field);
	val = tb[SGNIC_A_MATCH_ENTRY_VALUE];
	if (sgnic_steer_key_set(key, field, nla_data(val), nla_len(val))) {
		NL_SET_ERR_MSG_ATTR(extack, val,
				    "sgnic: match value: wrong length or outside the field");
		return -EINVAL;
	}
	return 0;
}

static bool sgnic_nl_act_terminal(u32 type)
{
	return type == SGNIC_ACTION_TYPE_DROP || type == SGNIC_ACTION_TYPE_QUEUE ||
	       type == SGNIC_ACTION_TYPE_ACCEPT;
}

static int sgnic_nl_parse_action(struct sgnic_port *port, struct nlattr *a,
				 struct sgnic_steer_rule_spec *spec,
				 struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SGNIC_A_ACTION_MAX + 1];
	bool is_mark, is_queue;
	u32 type, i, nq;
	int err;

	/* Validated with the request: see sgnic_nl_bulk_one(). */
	err = nla_parse_nested(tb, SGNIC_A_ACTION_MAX, a, NULL, extack);
	if (err)
		return err;
	if (!tb[SGNIC_A_ACTION_TYPE]) {
		NL_SET_ERR_MSG_ATTR(extack, a, "sgnic: action without type");
		return -EINVAL;
	}
	type = nla_get_u32(tb[SGNIC_A_ACTION_TYPE]);
	if (type > SGNIC_ACTION_TYPE_MAX) {
		NL_SET_ERR_MSG_ATTR(extack, tb[SGNIC_A_ACTION_TYPE], "sgnic: unknown action type");
		return -EINVAL;
	}
	if (spec->n_acts && sgnic_nl_act_terminal(spec->types[spec->n_acts - 1])) {
		NL_SET_ERR_MSG_ATTR(extack, a, "sgnic: action after a terminal action");
		return -EINVAL;
	}
	for (i = 0; i < spec->n_acts; i++) {
		if (spec->types[i] == type) {
			NL_SET_ERR_MSG_ATTR(extack, a, "sgnic: action type given twice");
			return -EINVAL;
		}
	}
	if (spec->n_acts >= SGNIC_STEER_ACTIONS_MAX) {
		NL_SET_ERR_MSG_ATTR(extack, a, "sgnic: too many actions");
		return -EINVAL;
	}
	is_mark = type == SGNIC_ACTION_TYPE_MARK;
	is_queue = type == SGNIC_ACTION_TYPE_QUEUE;
	if (!!tb[SGNIC_A_ACTION_MARK] != is_mark) {
		NL_SET_ERR_MSG_ATTR(extack, a,
				    "sgnic: mark is required by mark, refused by the others");
		return -EINVAL;
	}
	if (!!tb[SGNIC_A_ACTION_QUEUE] != is_queue) {
		NL_SET_ERR_MSG_ATTR(extack, a,
				    "sgnic: queue is required by queue, refused by the others");
		return -EINVAL;
	}
	if (type == SGNIC_ACTION_TYPE_MARK)
		spec->mark = nla_get_u32(tb[SGNIC_A_ACTION_MARK]);
	if (type == SGNIC_ACTION_TYPE_QUEUE) {
		spec->queue = nla_get_u32(tb[SGNIC_A_ACTION_QUEUE]);
		nq = min_t(u32, port->netdev->real_num_rx_queues, SGNIC_STEER_RXQ_MAX);
		if (spec->queue >= nq) {
			NL_SET_ERR_MSG_ATTR(extack, tb[SGNIC_A_ACTION_QUEUE],
					    "sgnic: queue index beyond the port's receive queues");
			return -EINVAL;
		}
	}
	spec->types[spec->n_acts++] = type;
	return 0;
}

/* Parses a rule nest of rule-new into @spec. */
static int sgnic_nl_parse_rule(struct sgnic_steer_matcher *m, struct nlattr **tb,
			       struct nlattr *nest, struct sgnic_steer_rule_spec *spec,
			       struct netlink_ext_ack *extack)
{
	struct nlattr *a;
	u32 seen = 0;
	int rem, err;

	memset(spec, 0, sizeof(*spec));
	spec->id = nla_get_u32(tb[SGNIC_A_RULE_ID]);
	if (tb[SGNIC_A_RULE_COOKIE])
		spec->cookie = nla_get_u64(tb[SGNIC_A_RULE_COOKIE]);
	if (tb[SGNIC_A_RULE_OWNER])
		spec->owner = nla_get_u32(tb[SGNIC_A_RULE_OWNER]);
	if (!tb[SGNIC_A_RULE_DIRECTION] || !nla_get_u32(tb[SGNIC_A_RULE_DIRECTION])) {
		NL_SET_ERR_MSG_MOD(extack, "missing or empty direction");
		return -EINVAL;
	}
	spec->dirs = nla_get_u32(tb[SGNIC_A_RULE_DIRECTION]);
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) == SGNIC_A_RULE_MATCH)
			err = sgnic_nl_parse_match(m, a, &spec->key, &seen, extack);
		else if (nla_type(a) == SGNIC_A_RULE_ACTION)
			err = sgnic_nl_parse_action(m->st->port, a, spec, extack);
		else
			err = 0;
		if (err)
			return err;
	}
	if (!spec->n_acts) {
		NL_SET_ERR_MSG_MOD(extack, "the rule needs at least one action");
		return -EINVAL;
	}
	return 0;	/* sgnic_steer_rule_insert() checks the contents */
}

/* Applies one rule nest; the rule's own errors go to @extack. */
static int sgnic_nl_bulk_one(struct sgnic_nl_bulk *b, struct nlattr *nest, u32 *id,
			     u8 *full, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SGNIC_A_RULE_MAX + 1];
	struct sgnic_steer_rule_spec spec;
	struct sgnic_steer_rule *rule, *copy;
	int err;

	/*
	 * genl validated the whole request against sgnic_nl_rules_policy before
	 * the handler ran: every rule nest, and in each its match entries and
	 * actions (NLA_POLICY_NESTED all the way down).  Here and below the
	 * nests are only split, not validated a second and a third time.
	 */
	err = nla_parse_nested(tb, SGNIC_A_RULE_MAX, nest, NULL, extack);
	if (err)
		return err;
	if (!tb[SGNIC_A_RULE_ID]) {
		NL_SET_ERR_MSG_MOD(extack, "missing rule id");
		return -EINVAL;
	}
	*id = nla_get_u32(tb[SGNIC_A_RULE_ID]);
	switch (b->op) {
	case SGNIC_NL_BULK_NEW:
		err = sgnic_nl_parse_rule(b->m, tb, nest, &spec, extack);
		if (err)
			return err;
		err = sgnic_steer_rule_insert(b->m, &spec, full, extack);
		if (!err && b->ids)
			b->ids[b->n_done++] = spec.id;
		return err;
	case SGNIC_NL_BULK_DEL:
		if (tb[SGNIC_A_RULE_DIRECTION] || tb[SGNIC_A_RULE_MATCH] ||
		    tb[SGNIC_A_RULE_ACTION] || tb[SGNIC_A_RULE_COOKIE] || tb[SGNIC_A_RULE_OWNER]) {
			NL_SET_ERR_MSG_MOD(extack, "rule-del takes the rule id only");
			return -EINVAL;
		}
		rule = sgnic_steer_rule_find(b->st, *id);
		if (!rule || rule->busy ||
		    (b->m && sgnic_steer_rule_matcher(b->st, rule) != b->m)) {
			if (b->m)
				NL_SET_ERR_MSG_MOD(extack, "no such rule in the matcher");
			else
				NL_SET_ERR_MSG_MOD(extack, "no such rule on the port");
			return -ENOENT;
		}
		if (!b->rules) {
			sgnic_steer_rule_delete(b->st, rule);
			return 0;
		}
		/* Unit mode: claim now, delete when every rule checked out. */
		rule->busy = 1;
		b->rules[b->n_done++] = rule;
		return 0;
	case SGNIC_NL_BULK_MOVE:
		if (tb[SGNIC_A_RULE_DIRECTION] || tb[SGNIC_A_RULE_MATCH] ||
		    tb[SGNIC_A_RULE_ACTION] || tb[SGNIC_A_RULE_COOKIE] || tb[SGNIC_A_RULE_OWNER]) {
			NL_SET_ERR_MSG_MOD(extack, "rule-move takes the rule id only");
			return -EINVAL;
		}
		rule = sgnic_steer_rule_find(b->st, *id);
		if (!rule || rule->busy || sgnic_steer_rule_matcher(b->st, rule) != b->m) {
			NL_SET_ERR_MSG_MOD(extack, "no such rule in the matcher");
			return -ENOENT;
		}
		copy = sgnic_steer_rule_stage_move(b->m, rule, full, extack);
		if (IS_ERR(copy))
			return PTR_ERR(copy);
		rule->busy = 1;
		b->rules[b->n_done++] = copy;
		return 0;
	}
	return -EINVAL;
}

/* Undoes the rules a unit-mode request applied before it failed. */
static void sgnic_nl_bulk_undo(struct sgnic_nl_bulk *b)
{
	struct sgnic_steer_rule *rule;
	u32 i;

	switch (b->op) {
	case SGNIC_NL_BULK_NEW:
		for (i = 0; i < b->n_done; i++) {
			rule = sgnic_steer_rule_find(b->st, b->ids[i]);
			if (rule)
				sgnic_steer_rule_delete(b->st, rule);
		}
		break;
	case SGNIC_NL_BULK_DEL:
		for (i = 0; i < b->n_done; i++)
			b->rules[i]->busy = 0;
		break;
	case SGNIC_NL_BULK_MOVE:
		for (i = 0; i < b->n_done; i++)
			sgnic_steer_rule_find(b->st, b->rules[i]->id)->busy = 0;
		sgnic_steer_rule_abort_moves(b->st, b->rules, b->n_done);
		break;
	}
}

static void sgnic_nl_bulk_commit(struct sgnic_nl_bulk *b)
{
	u32 i;

	switch (b->op) {
	case SGNIC_NL_BULK_NEW:
		break;
	case SGNIC_NL_BULK_DEL:
		if (!b->rules)
			break;
		for (i = 0; i < b->n_done; i++)
			sgnic_steer_rule_delete(b->st, b->rules[i]);
		break;
	case SGNIC_NL_BULK_MOVE:
		for (i = 0; i < b->n_done; i++)
			sgnic_steer_rule_find(b->st, b->rules[i]->id)->busy = 0;
		sgnic_steer_rule_commit_moves(b->st, b->rules, b->n_done);
		break;
	}
}

static void sgnic_nl_bulk_result(struct sgnic_nl_bulk *b, u32 index, u32 id, int err,
				 u8 full, const char *msg)
{
	struct sk_buff *skb = b->reply;
	struct nlattr *nest;

	b->failed++;
	if (b->reply_full)
		return;
	nest = nla_nest_start(skb, SGNIC_A_RULES_RESULT);
	if (!nest ||
	    nla_put_u32(skb, SGNIC_A_RULE_RESULT_INDEX, index) ||
	    (id && nla_put_u32(skb, SGNIC_A_RULE_RESULT_ID, id)) ||
	    nla_put_u32(skb, SGNIC_A_RULE_RESULT_ERRNO, -err) ||
	    (full && nla_put_u32(skb, SGNIC_A_RULE_RESULT_DIRECTION, full)) ||
	    nla_put_string(skb, SGNIC_A_RULE_RESULT_MSG, msg ?: "")) {
		if (nest)
			nla_nest_cancel(skb, nest);
		b->reply_full = true;
		return;
	}
	nla_nest_end(skb, nest);
}

static int sgnic_nl_bulk_doit(struct sk_buff *skb, struct genl_info *info,
			      enum sgnic_nl_bulk_op op)
{
	struct netlink_ext_ack *extack = info->extack;
	struct sgnic_nl_bulk b = { .info = info, .op = op };
	char msg[SGNIC_NL_MSG_LEN];
	u32 index = 0, id;
	struct sgnic_port *port;
	struct nlattr *a;
	int rem, err = 0;
	u8 full;

	port = sgnic_nl_info_port(info, SGNIC_A_RULES_IFINDEX);
	if (IS_ERR(port))
		return PTR_ERR(port);
	b.st = port->steer;
	b.cont = info->attrs[SGNIC_A_RULES_FLAGS] &&
		 (nla_get_u32(info->attrs[SGNIC_A_RULES_FLAGS]) & SGNIC_BULK_FLAGS_CONTINUE);
	if (op != SGNIC_NL_BULK_DEL && GENL_REQ_ATTR_CHECK(info, SGNIC_A_RULES_MATCHER_ID)) {
		NL_SET_ERR_MSG_MOD(extack, "missing matcher-id");
		return -EINVAL;
	}
	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem)
		if (nla_type(a) == SGNIC_A_RULES_RULE)
			b.n++;

	b.reply = genlmsg_new(SGNIC_NL_BULK_REPLY_SIZE, GFP_KERNEL);
	if (!b.reply)
		return -ENOMEM;
	b.hdr = genlmsg_put_reply(b.reply, info, &sgnic_nl_family, 0, info->genlhdr->cmd);
	if (!b.hdr) {
		err = -EMSGSIZE;
		goto free_reply;
	}
	if (b.n && op == SGNIC_NL_BULK_NEW && !b.cont) {
		b.ids = kvmalloc_array(b.n, sizeof(*b.ids), GFP_KERNEL);
		if (!b.ids) {
			err = -ENOMEM;
			goto free_reply;
		}
	}
	if (b.n && (op == SGNIC_NL_BULK_MOVE || (op == SGNIC_NL_BULK_DEL && !b.cont))) {
		b.rules = kvmalloc_array(b.n, sizeof(*b.rules), GFP_KERNEL);
		if (!b.rules) {
			err = -ENOMEM;
			goto free_undo;
		}
	}

	mutex_lock(&b.st->lock);
	if (info->attrs[SGNIC_A_RULES_MATCHER_ID]) {
		b.m = sgnic_steer_matcher_find(b.st,
					       nla_get_u32(info->attrs[SGNIC_A_RULES_MATCHER_ID]));
		if (!b.m) {
			NL_SET_ERR_MSG_ATTR(extack, info->attrs[SGNIC_A_RULES_MATCHER_ID],
					    "sgnic: unknown matcher id");
			err = -ENOENT;
			goto unlock;
		}
		if (op == SGNIC_NL_BULK_MOVE && !b.m->resize_target) {
			NL_SET_ERR_MSG_ATTR(extack, info->attrs[SGNIC_A_RULES_MATCHER_ID],
					    "sgnic: the matcher has no resize target");
			err = -EINVAL;
			goto unlock;
		}
	}

	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(a) != SGNIC_A_RULES_RULE)
			continue;
		id = 0;
		full = 0;
		sgnic_nl_set_msg(extack, NULL);
		err = sgnic_nl_bulk_one(&b, a, &id, &full, extack);
		if (!err) {
			b.applied++;
			index++;
			continue;
		}
		/* Name the rule: its index in the request and its id. */
		snprintf(msg, sizeof(msg), "sgnic: rule #%u (id %u): %s", index, id,
			 sgnic_nl_strip(extack->_msg));
		if (!b.cont) {
			sgnic_nl_set_msg(extack, msg);
			NL_SET_BAD_ATTR(extack, a);
			sgnic_nl_bulk_undo(&b);
			goto unlock;
		}
		sgnic_nl_bulk_result(&b, index, id, err, full, msg);
		index++;
		err = 0;
	}
	sgnic_nl_bulk_commit(&b);
	/* Only what a request kept counts: an undone one changed nothing. */
	b.st->rule_ops += b.applied;
	if (b.applied)
		sgnic_nl_steer_changed(b.st);
	sgnic_steer_reap(b.st);
	mutex_unlock(&b.st->lock);

	/* With the continue flag, failures are in the reply, not in the ack. */
	sgnic_nl_set_msg(extack, NULL);
	extack->bad_attr = NULL;
	if (nla_put_u32(b.reply, SGNIC_A_RULES_APPLIED, b.applied) ||
	    nla_put_u32(b.reply, SGNIC_A_RULES_FAILED, b.failed)) {
		err = -EMSGSIZE;
		goto free_undo;
	}
	kvfree(b.rules);
	kvfree(b.ids);
	genlmsg_end(b.reply, b.hdr);
	return genlmsg_reply(b.reply, info);

unlock:
	sgnic_steer_reap(b.st);
	mutex_unlock(&b.st->lock);
free_undo:
	kvfree(b.rules);
	kvfree(b.ids);
free_reply:
	nlmsg_free(b.reply);
	if (extack->_msg == msg)
		return sgnic_nl_ack_now(skb, info, err);
	return err;
}

static int sgnic_nl_rule_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	return sgnic_nl_bulk_doit(skb, info, SGNIC_NL_BULK_NEW);
}

static int sgnic_nl_rule_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	return sgnic_nl_bulk_doit(skb, info, SGNIC_NL_BULK_DEL);
}

static int sgnic_nl_rule_move_doit(struct sk_buff *skb, struct genl_info *info)
{
	return sgnic_nl_bulk_doit(skb, info, SGNIC_NL_BULK_MOVE);
}

/* ---- rule-get ---- */

static int sgnic_nl_rule_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sgnic_port *port = sgnic_nl_info_port(info, SGNIC_A_RULE_IFINDEX);
	struct sgnic_steer_rule *rule;
	struct sk_buff *msg;
	int err;

	if (IS_ERR(port))
		return PTR_ERR(port);
	if (GENL_REQ_ATTR_CHECK(info, SGNIC_A_RULE_ID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing rule id");
		return -EINVAL;
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&port->steer->lock);
	rule = sgnic_steer_rule_find(port->steer, nla_get_u32(info->attrs[SGNIC_A_RULE_ID]));
	if (!rule) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[SGNIC_A_RULE_ID],
				    "sgnic: no such rule on the port");
		err = -ENOENT;
	} else {
		err = sgnic_nl_fill_rule(msg, port->steer, rule, info->snd_portid,
					 info->snd_seq, 0, NULL);
	}
	mutex_unlock(&port->steer->lock);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int sgnic_nl_rule_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct nlattr *ifattr = info->attrs[SGNIC_A_RULE_IFINDEX];
	struct nlattr *mattr = info->attrs[SGNIC_A_RULE_MATCHER_ID];
	struct nlattr *first_attr = info->attrs[SGNIC_A_RULE_ID];
	struct nlattr *last_attr = info->attrs[SGNIC_A_RULE_LAST_ID];
	unsigned long first = first_attr ? nla_get_u32(first_attr) : 0;
	unsigned long last = last_attr ? nla_get_u32(last_attr) : U32_MAX;
	struct net *net = sock_net(skb->sk);
	struct sgnic_steer_rule *rule;
	struct sgnic_port *port;
	unsigned long id;
	int err = 0;

	if (mattr && !ifattr) {
		NL_SET_ERR_MSG_ATTR(cb->extack, mattr, "sgnic: matcher-id needs ifindex");
		return -EINVAL;
	}
	if (last < first) {
		NL_SET_ERR_MSG_ATTR(cb->extack, last_attr, "sgnic: last-id is below id");
		return -EINVAL;
	}
	if (ifattr && !sgnic_nl_port(net, nla_get_u32(ifattr))) {
		NL_SET_ERR_MSG_ATTR(cb->extack, ifattr, "sgnic: ifindex is not an sgnic port");
		return -ENODEV;
	}
	/* args[0]: port index, args[1]: next rule id on that port. */
	while ((port = sgnic_nl_dump_port(net, &cb->args[0]))) {
		if (ifattr && port->netdev->ifindex != nla_get_u32(ifattr))
			goto next_port;
		mutex_lock(&port->steer->lock);
		if (mattr && !cb->args[1] &&
		    !sgnic_steer_matcher_find(port->steer, nla_get_u32(mattr))) {
			mutex_unlock(&port->steer->lock);
			NL_SET_ERR_MSG_ATTR(cb->extack, mattr, "sgnic: unknown matcher id");
			return -ENOENT;
		}
		cb->seq = atomic_read(&sgnic_nl_generation);
		xa_for_each_range(&port->steer->rules, id, rule,
				  max_t(unsigned long, cb->args[1], first), last) {
			if (mattr &&
			    sgnic_steer_rule_matcher(port->steer, rule)->id != nla_get_u32(mattr))
				continue;
			err = sgnic_nl_fill_rule(skb, port->steer, rule, NETLINK_CB(cb->skb).portid,
						 cb->nlh->nlmsg_seq, NLM_F_MULTI, cb);
			if (err)
				break;
			cb->args[1] = id + 1;
		}
		mutex_unlock(&port->steer->lock);
		if (err)
			return skb->len ?: err;
next_port:
		cb->args[0]++;
		cb->args[1] = 0;
	}
	return skb->len;
}

/* ---- the family ---- */

static const struct genl_ops sgnic_nl_ops[] = {
	{
		.cmd = SGNIC_CMD_DEV_GET,
		.doit = sgnic_nl_dev_get_doit,
		.dumpit = sgnic_nl_dev_get_dumpit,
		.policy = sgnic_nl_dev_get_policy,
		.maxattr = ARRAY_SIZE(sgnic_nl_dev_get_policy) - 1,
	},
	{
		.cmd = SGNIC_CMD_PORTAL_GET,
		.dumpit = sgnic_nl_portal_get_dumpit,
	},
	{
		.cmd = SGNIC_CMD_POOL_GET,
		.dumpit = sgnic_nl_pool_get_dumpit,
		.policy = sgnic_nl_pool_get_policy,
		.maxattr = ARRAY_SIZE(sgnic_nl_pool_get_policy) - 1,
	},
	{
		.cmd = SGNIC_CMD_MATCHER_NEW,
		.doit = sgnic_nl_matcher_new_doit,
		.policy = sgnic_nl_matcher_new_policy,
		.maxattr = ARRAY_SIZE(sgnic_nl_matcher_new_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SGNIC_CMD_MATCHER_DEL,
		.doit = sgnic_nl_matcher_del_doit,
		.policy = sgnic_nl_matcher_id_policy,
		.maxattr = ARRAY_SIZE(sgnic_nl_matcher_id_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SGNIC_CMD_MATCHER_GET,
		.doit = sgnic_nl_matcher_get_doit,
		.dumpit = sgnic_nl_matcher_get_dumpit,
		.policy = sgnic_nl_matcher_id_policy,
		.maxattr = ARRAY_SIZE(sgnic_nl_matcher_id_policy) - 1,
	},
	{
		.cmd = SGNIC_CMD_MATCHER_RESIZE,
		.doit = sgnic_nl_matcher_resize_doit,
		.policy = sgnic_nl_matcher_resize_policy,
		.maxattr = ARRAY_SIZE(sgnic_nl_matcher_resize_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SGNIC_CMD_RULE_NEW,
		.doit = sgnic_nl_rule_new_doit,
		.policy = sgnic_nl_rules_policy,
		.maxattr = ARRAY_SIZE(sgnic_nl_rules_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SGNIC_CMD_RULE_DEL,
		.doit = sgnic_nl_rule_del_doit,
		.policy = sgnic_nl_rules_policy,
		.maxattr = ARRAY_SIZE(sgnic_nl_rules_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SGNIC_CMD_RULE_MOVE,
		.doit = sgnic_nl_rule_move_doit,
		.policy = sgnic_nl_rules_policy,
		.maxattr = ARRAY_SIZE(sgnic_nl_rules_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SGNIC_CMD_RULE_GET,
		.doit = sgnic_nl_rule_get_doit,
		.dumpit = sgnic_nl_rule_get_dumpit,
		.policy = sgnic_nl_rule_get_policy,
		.maxattr = ARRAY_SIZE(sgnic_nl_rule_get_policy) - 1,
	},
};

static const struct genl_multicast_group sgnic_nl_mcgrps[] = {
	[SGNIC_NL_MCGRP_EVENTS] = { .name = SGNIC_MCGRP_EVENTS },
};

static struct genl_family sgnic_nl_family __ro_after_init = {
	.name = SGNIC_FAMILY_NAME,
	.version = SGNIC_FAMILY_VERSION,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = sgnic_nl_ops,
	.n_ops = ARRAY_SIZE(sgnic_nl_ops),
	/* A new family: every op validates the header and needs a policy. */
	.resv_start_op = 0,
	.mcgrps = sgnic_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(sgnic_nl_mcgrps),
};

int sgnic_nl_init(struct sgnic_dev *sd)
{
	unsigned int i;
	int err;

	sgnic_nl_dev = sd;
	err = genl_register_family(&sgnic_nl_family);
	if (err)
		return err;
	for (i = 0; i < sd->nports; i++)
		sgnic_nl_notify_dev(sd->ports[i], SGNIC_CMD_DEV_ADD_NTF);
	return 0;
}

void sgnic_nl_fini(void)
{
	struct sgnic_dev *sd = sgnic_nl_dev;
	unsigned int i;

	for (i = 0; i < sd->nports; i++)
		sgnic_nl_notify_dev(sd->ports[i], SGNIC_CMD_DEV_DEL_NTF);
	genl_unregister_family(&sgnic_nl_family);
}

MODULE_ALIAS_GENL_FAMILY(SGNIC_FAMILY_NAME);
