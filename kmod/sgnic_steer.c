// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: the steering engine — matchers, tables, rules, the lookup of the
 * data path and the resize primitives.  Locking is described in
 * sgnic_steer.h.  The module provides mechanism only: it never picks a size
 * and never rehashes by itself; a full row fails the insert with ENOSPC.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/ip.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "sgnic.h"
#include "sgnic_steer.h"
#include "sgnic_steer_frame.h"

/*
 * Rules and matchers come from caches of their own, so that the robustness
 * tier can fail exactly these allocations (failslab's cache filter, set per
 * cache in /sys/kernel/slab/<cache>/failslab).  A rule's size depends on its
 * matcher's template and on its directions and actions, so rules come from
 * one cache per size class (multiples of 8 bytes); all are charged to the
 * caller's memory cgroup.
 */
#define SGNIC_STEER_RULE_ALIGN		8
/* The largest rule: two links, every field with a mark, two counters. */
#define SGNIC_STEER_RULE_MAX_BYTES \
	(sizeof(struct sgnic_steer_rule) + \
	 SGNIC_STEER_DIRS * sizeof(struct sgnic_steer_rule *) + \
	 ALIGN(SGNIC_STEER_KEY_BYTES + sizeof(u32), SGNIC_STEER_RULE_ALIGN) + \
	 SGNIC_STEER_DIRS * sizeof(struct sgnic_steer_counters))
#define SGNIC_STEER_RULE_CACHES \
	(SGNIC_STEER_RULE_MAX_BYTES / SGNIC_STEER_RULE_ALIGN + 1)

/*
 * A rule's memory is charged to the caller's memory cgroup; at the cgroup's
 * limit the insert fails with ENOMEM (after one reclaim round) instead of
 * calling the OOM killer: a rule flood is stopped, not its process killed.
 */
#define SGNIC_STEER_RULE_GFP		(GFP_KERNEL_ACCOUNT | __GFP_NORETRY)

static struct kmem_cache *sgnic_steer_rule_caches[SGNIC_STEER_RULE_CACHES];
static char sgnic_steer_rule_cache_names[SGNIC_STEER_RULE_CACHES][24];
static struct kmem_cache *sgnic_steer_matcher_cache;

static u8 sgnic_steer_dir_bit(unsigned int dir)
{
	return dir == SGNIC_STEER_RX ? SGNIC_DIRECTION_RX : SGNIC_DIRECTION_TX;
}

/* ---- a rule's variable part ---- */

static unsigned int sgnic_steer_rule_links(u8 dirs)
{
	return dirs == SGNIC_DIRECTION_MASK ? SGNIC_STEER_DIRS : 1;
}

/* The chain link of @rule in @dir's table; @dir must be in rule->dirs. */
static struct sgnic_steer_rule __rcu **sgnic_steer_rule_link(struct sgnic_steer_rule *rule,
							     unsigned int dir)
{
	return &rule->next[rule->dirs == SGNIC_DIRECTION_MASK ? dir : 0];
}

static u8 *sgnic_steer_rule_key(const struct sgnic_steer_rule *rule)
{
	return (u8 *)&rule->next[sgnic_steer_rule_links(rule->dirs)];
}

static size_t sgnic_steer_rule_key_area(const struct sgnic_steer_matcher *m,
					const struct sgnic_steer_acts *a)
{
	size_t len = m->packing.len;

	if (a->mark)
		len = ALIGN(len, sizeof(u32)) + sizeof(u32);
	return ALIGN(len, SGNIC_STEER_RULE_ALIGN);
}

static u32 *sgnic_steer_rule_mark_slot(const struct sgnic_steer_matcher *m,
				       const struct sgnic_steer_rule *rule)
{
	return (u32 *)(sgnic_steer_rule_key(rule) + ALIGN(m->packing.len, sizeof(u32)));
}

/* The rule's counters of @dir, or NULL when it does not count there. */
static struct sgnic_steer_counters *
sgnic_steer_rule_cnt(const struct sgnic_steer_matcher *m,
		     const struct sgnic_steer_rule *rule, unsigned int dir)
{
	struct sgnic_steer_counters *cnt;

	if (!rule->acts->count || !(rule->dirs & sgnic_steer_dir_bit(dir)))
		return NULL;
	cnt = (struct sgnic_steer_counters *)(sgnic_steer_rule_key(rule) +
					       sgnic_steer_rule_key_area(m, rule->acts));
	return &cnt[rule->dirs == SGNIC_DIRECTION_MASK ? dir : 0];
}

static size_t sgnic_steer_rule_size(const struct sgnic_steer_matcher *m, u8 dirs,
				    const struct sgnic_steer_acts *a)
{
	unsigned int links = sgnic_steer_rule_links(dirs);

	return sizeof(struct sgnic_steer_rule) +
	       links * sizeof(struct sgnic_steer_rule *) +
	       sgnic_steer_rule_key_area(m, a) +
	       (a->count ? links * sizeof(struct sgnic_steer_counters) : 0);
}

static struct sgnic_steer_rule *sgnic_steer_rule_alloc(const struct sgnic_steer_matcher *m,
						       u8 dirs, struct sgnic_steer_acts *a)
{
	size_t size = sgnic_steer_rule_size(m, dirs, a);
	unsigned int cache = size / SGNIC_STEER_RULE_ALIGN;
	struct sgnic_steer_rule *rule;

	rule = kmem_cache_zalloc(sgnic_steer_rule_caches[cache], SGNIC_STEER_RULE_GFP);
	if (!rule)
		return NULL;
	rule->cache = cache;
	rule->dirs = dirs;
	rule->acts = a;
	rule->slot = m->slot;
	return rule;
}

static void sgnic_steer_rule_free(struct sgnic_steer_rule *rule)
{
	kmem_cache_free(sgnic_steer_rule_caches[rule->cache], rule);
}

/* The rule's match value as a whole key (bytes outside the template zero). */
void sgnic_steer_rule_match(const struct sgnic_steer_matcher *m,
			    const struct sgnic_steer_rule *rule, struct sgnic_steer_key *key)
{
	sgnic_steer_key_unpack(&m->packing, sgnic_steer_rule_key(rule), key);
}

u32 sgnic_steer_rule_mark(const struct sgnic_steer_matcher *m,
			  const struct sgnic_steer_rule *rule)
{
	return rule->acts->mark ? *sgnic_steer_rule_mark_slot(m, rule) : 0;
}

/* ---- tables: the rows and their chains ---- */

u64 sgnic_steer_table_pages(const struct sgnic_steer_table *t)
{
	return sgnic_steer_pages(&t->geom);
}

/* Allocates the rows at the first rule of the direction. */
static int sgnic_steer_table_prepare(struct sgnic_steer_table *t)
{
	struct sgnic_steer_rule __rcu **rows;

	if (t->rows)
		return 0;
	if (t->geom.has_col) {
		t->col_rows = kvzalloc(sgnic_steer_col_rows(&t->geom), GFP_KERNEL_ACCOUNT);
		if (!t->col_rows)
			return -ENOMEM;
	}
	rows = kvcalloc(sgnic_steer_rows(&t->geom), sizeof(*rows), GFP_KERNEL_ACCOUNT);
	if (!rows) {
		kvfree(t->col_rows);
		t->col_rows = NULL;
		return -ENOMEM;
	}
	/* Lookups read the rows once the rule count says there are rules. */
	smp_store_release(&t->rows, rows);
	return 0;
}

static struct sgnic_steer_rule __rcu **sgnic_steer_table_head(struct sgnic_steer_table *t,
							      u32 hash)
{
	return &t->rows[sgnic_steer_row(&t->geom, hash)];
}

static void sgnic_steer_table_init(struct sgnic_steer_table *t, u32 size_log)
{
	sgnic_steer_geom_init(&t->geom, size_log);
	t->rows = NULL;
	t->col_rows = NULL;
	t->rules = 0;
}

/* No lookup runs on the table any more. */
static void sgnic_steer_table_fini(struct sgnic_steer_table *t)
{
	kvfree(t->rows);
	kvfree(t->col_rows);
}

/* ---- action templates ---- */

static struct sgnic_steer_acts *
sgnic_steer_acts_get(struct sgnic_steer_matcher *m,
		     const struct sgnic_steer_rule_spec *spec,
		     struct netlink_ext_ack *extack)
{
	struct sgnic_steer_acts *a;
	unsigned int i;

	list_for_each_entry(a, &m->acts, node) {
		if (a->n == spec->n_acts && !memcmp(a->types, spec->types, a->n)) {
			a->users++;
			return a;
		}
	}
	if (m->n_acts >= SGNIC_STEER_MAX_ACTION_TEMPLATES) {
		NL_SET_ERR_MSG_MOD(extack, "too many distinct action lists in the matcher");
		return ERR_PTR(-EDQUOT);
	}
	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return ERR_PTR(-ENOMEM);
	a->n = spec->n_acts;
	memcpy(a->types, spec->types, a->n);
	a->terminal = SGNIC_ACTION_TYPE_ACCEPT;
	for (i = 0; i < a->n; i++) {
		if (a->types[i] == SGNIC_ACTION_TYPE_MARK)
			a->mark = true;
		else if (a->types[i] == SGNIC_ACTION_TYPE_COUNT)
			a->count = true;
		else
			a->terminal = a->types[i];
	}
	a->users = 1;
	list_add_tail(&a->node, &m->acts);
	m->n_acts++;
	return a;
}

static void sgnic_steer_acts_put(struct sgnic_steer_matcher *m, struct sgnic_steer_acts *a)
{
	if (--a->users)
		return;
	list_del(&a->node);
	m->n_acts--;
	kfree_rcu(a, rcu);
}

/* ---- matchers ---- */

struct sgnic_steer_matcher *sgnic_steer_matcher_find(struct sgnic_steer *st, u32 id)
{
	struct sgnic_steer_matcher *m;

	lockdep_assert_held(&st->lock);
	list_for_each_entry(m, &st->matchers, node)
		if (m->id == id)
			return m;
	return NULL;
}

static u32 sgnic_steer_matcher_free_id(struct sgnic_steer *st)
{
	u32 id = 1;

	while (sgnic_steer_matcher_find(st, id))
		id++;
	return id;
}

/* Inserts into the priority order: lower priority first, then lower id. */
static void sgnic_steer_matcher_link(struct sgnic_steer *st, struct sgnic_steer_matcher *m)
{
	struct sgnic_steer_matcher *pos;

	list_for_each_entry(pos, &st->matchers, node) {
		if (pos->priority > m->priority ||
		    (pos->priority == m->priority && pos->id > m->id)) {
			list_add_tail_rcu(&m->node, &pos->node);
			return;
		}
	}
	list_add_tail_rcu(&m->node, &st->matchers);
}

/* A free slot of sgnic_steer.slots; the matcher count is below its size. */
static u8 sgnic_steer_free_slot(struct sgnic_steer *st)
{
	u8 slot = 0;

	while (st->slots[slot])
		slot++;
	return slot;
}

struct sgnic_steer_matcher *
sgnic_steer_matcher_create(struct sgnic_steer *st, u32 id, u32 priority,
			   u64 cookie, u8 owner,
			   const struct sgnic_steer_template *tmpl,
			   const u32 size_log[SGNIC_STEER_DIRS],
			   struct netlink_ext_ack *extack)
{
	struct sgnic_steer_matcher *m;
	unsigned int dir;

	lockdep_assert_held(&st->lock);
	if (st->n_matchers >= SGNIC_STEER_MAX_MATCHERS) {
		NL_SET_ERR_MSG_MOD(extack, "too many matchers on the port (caps max-matchers)");
		return ERR_PTR(-EDQUOT);
	}
	if (id && sgnic_steer_matcher_find(st, id)) {
		NL_SET_ERR_MSG_MOD(extack, "matcher id already in use on the port");
		return ERR_PTR(-EEXIST);
	}
	m = kmem_cache_zalloc(sgnic_steer_matcher_cache, GFP_KERNEL);
	if (!m)
		return ERR_PTR(-ENOMEM);
	m->st = st;
	m->id = id ?: sgnic_steer_matcher_free_id(st);
	m->priority = priority;
	m->cookie = cookie;
	m->owner = owner;
	m->tmpl = *tmpl;
	sgnic_steer_packing_init(&m->packing, m->tmpl.fields);
	INIT_LIST_HEAD(&m->acts);
	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++)
		sgnic_steer_table_init(&m->tbl[dir], size_log[dir]);
	m->slot = sgnic_steer_free_slot(st);
	st->slots[m->slot] = m;
	sgnic_steer_matcher_link(st, m);
	st->n_matchers++;
	return m;
}

/*
 * Resize links change under lookups that read them one matcher at a time, in
 * list order, and a resize target may come before or after its source.  A
 * lookup that skipped a target must still find it through its source, and
 * one that read a source's link as empty must not skip the target later, so
 * a grace period separates the step that stops (or starts) skipping the
 * target from the one that removes (or follows) the source's link.
 */
static void sgnic_steer_resize_link(struct sgnic_steer_matcher *m,
				    struct sgnic_steer_matcher *t)
{
	WRITE_ONCE(m->resize_target, t);
	synchronize_rcu();	/* every lookup that reaches m runs t */
	WRITE_ONCE(t->resize_source, m);
}

static void sgnic_steer_resize_unlink(struct sgnic_steer_matcher *m,
				      struct sgnic_steer_matcher *t)
{
	WRITE_ONCE(t->resize_source, NULL);
	synchronize_rcu();	/* no lookup still skips t */
	WRITE_ONCE(m->resize_target, NULL);
}

int sgnic_steer_matcher_destroy(struct sgnic_steer_matcher *m,
				struct netlink_ext_ack *extack)
{
	struct sgnic_steer *st = m->st;
	struct sgnic_steer_matcher *t;
	unsigned int dir;

	lockdep_assert_held(&st->lock);
	if (m->rules) {
		NL_SET_ERR_MSG_MOD(extack, "matcher still has rules");
		return -EBUSY;
	}
	if (m->resize_source) {
		NL_SET_ERR_MSG_MOD(extack, "matcher is the target of a resize in progress");
		return -EBUSY;
	}
	/* The empty source of a resize: its deletion ends the resize. */
	t = m->resize_target;
	if (t) {
		sgnic_steer_resize_unlink(m, t);
		t->moved_in = 0;
	}
	list_del_rcu(&m->node);
	st->slots[m->slot] = NULL;
	st->n_matchers--;
	synchronize_rcu();
	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++)
		sgnic_steer_table_fini(&m->tbl[dir]);
	kmem_cache_free(sgnic_steer_matcher_cache, m);
	return 0;
}

/*
 * Turns the resize from @src into @m around: @m becomes the source and @src
 * its target, so that rules moved into @m can move back (a rolled-back
 * rehash).  Lookups reach both matchers throughout: @m runs @src before @m
 * stops being skipped, no lookup still skips @m when @src starts being
 * skipped, and @src is skipped before it stops running @m.
 */
static void sgnic_steer_matcher_reverse_resize(struct sgnic_steer_matcher *m,
					       struct sgnic_steer_matcher *src)
{
	WRITE_ONCE(m->resize_target, src);
	smp_wmb();	/* m runs src before m stops being skipped */
	WRITE_ONCE(m->resize_source, NULL);
	synchronize_rcu();	/* no lookup still skips m */
	WRITE_ONCE(src->resize_source, m);
	smp_wmb();	/* src is skipped before it stops running m */
	WRITE_ONCE(src->resize_target, NULL);
	m->moved_in = 0;
	src->moved_in = 0;
}

/*
 * Sets (target_id != 0) or clears the resize target of @m (see
 * sgnic_steer_resize_link for the publication order).  Naming the current
 * target again is a no-op; naming the current source reverses the resize.
 */
int sgnic_steer_matcher_set_resize(struct sgnic_steer_matcher *m, u32 target_id,
				   struct netlink_ext_ack *extack)
{
	struct sgnic_steer_matcher *t;

	lockdep_assert_held(&m->st->lock);
	if (!target_id) {
		t = m->resize_target;
		if (!t)
			return 0;
		if (t->moved_in) {
			NL_SET_ERR_MSG_MOD(extack,
					   "the resize target holds rules moved from this matcher");
			return -EBUSY;
		}
		sgnic_steer_resize_unlink(m, t);
		return 0;
	}
	if (m->resize_target && m->resize_target->id == target_id)
		return 0;
	if (m->resize_source && m->resize_source->id == target_id && !m->resize_target) {
		sgnic_steer_matcher_reverse_resize(m, m->resize_source);
		return 0;
	}
	if (m->resize_target || m->resize_source) {
		NL_SET_ERR_MSG_MOD(extack, "matcher is already part of a resize");
		return -EBUSY;
	}
	if (target_id == m->id) {
		NL_SET_ERR_MSG_MOD(extack, "a matcher cannot be its own resize target");
		return -EINVAL;
	}
	t = sgnic_steer_matcher_find(m->st, target_id);
	if (!t) {
		NL_SET_ERR_MSG_MOD(extack, "unknown resize-target matcher");
		return -ENOENT;
	}
	if (t->resize_target || t->resize_source) {
		NL_SET_ERR_MSG_MOD(extack, "resize target is already part of a resize");
		return -EBUSY;
	}
	if (!sgnic_steer_template_equal(&m->tmpl, &t->tmpl)) {
		NL_SET_ERR_MSG_MOD(extack, "resize target has a different template");
		return -EINVAL;
	}
	t->moved_in = 0;
	sgnic_steer_resize_link(m, t);
	return 0;
}

/* ---- rules ---- */

struct sgnic_steer_rule *sgnic_steer_rule_find(struct sgnic_steer *st, u32 id)
{
	return xa_load(&st->rules, id);
}

struct sgnic_steer_matcher *sgnic_steer_rule_matcher(const struct sgnic_steer *st,
						     const struct sgnic_steer_rule *rule)
{
	return st->slots[rule->slot];
}

/* False (and zeros) when the rule does not count in @dir. */
bool sgnic_steer_rule_read(const struct sgnic_steer_matcher *m,
			   const struct sgnic_steer_rule *rule, unsigned int dir,
			   u64 *packets, u64 *bytes)
{
	const struct sgnic_steer_counters *cnt = sgnic_steer_rule_cnt(m, rule, dir);

	*packets = cnt ? atomic64_read(&cnt->packets) : 0;
	*bytes = cnt ? atomic64_read(&cnt->bytes) : 0;
	return cnt;
}

/* Adds the hits of @from (of matcher @mf) to @to (of @mt): a move's two copies. */
static void sgnic_steer_rule_fold(const struct sgnic_steer_matcher *mt,
				  struct sgnic_steer_rule *to,
				  const struct sgnic_steer_matcher *mf,
				  const struct sgnic_steer_rule *from)
{
	struct sgnic_steer_counters *cnt;
	unsigned int dir;
	u64 p, b;

	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		cnt = sgnic_steer_rule_cnt(mt, to, dir);
		if (!cnt || !sgnic_steer_rule_read(mf, from, dir, &p, &b))
			continue;
		atomic64_add(p, &cnt->packets);
		atomic64_add(b, &cnt->bytes);
	}
}

/*
 * Checks what does not depend on the tables' state: the values are within
 * the template (the caller checked each field), the actions fit the rule's
 * directions.
 */
static int sgnic_steer_rule_check(struct sgnic_steer_matcher *m,
				  const struct sgnic_steer_rule_spec *spec,
				  struct netlink_ext_ack *extack)
{
	unsigned int i;

	if (!sgnic_steer_key_within(&spec->key, &m->tmpl.mask)) {
		NL_SET_ERR_MSG_MOD(extack, "match value outside the template mask");
		return -EINVAL;
	}
	/* mark and queue act on a received frame: a sent one would ignore them. */
	if (!(spec->dirs & SGNIC_DIRECTION_TX))
		return 0;
	for (i = 0; i < spec->n_acts; i++) {
		if (spec->types[i] == SGNIC_ACTION_TYPE_MARK ||
		    spec->types[i] == SGNIC_ACTION_TYPE_QUEUE) {
			NL_SET_ERR_MSG_MOD(extack,
					   "mark and queue are RX actions: not in a TX rule");
			return -EINVAL;
		}
	}
	return 0;
}

static void sgnic_steer_collision_msg(u8 full, struct netlink_ext_ack *extack)
{
	if (full == SGNIC_DIRECTION_MASK)
		NL_SET_ERR_MSG_MOD(extack, "collision: RX and TX table rows full");
	else if (full == SGNIC_DIRECTION_RX)
		NL_SET_ERR_MSG_MOD(extack, "collision: RX table row full");
	else
		NL_SET_ERR_MSG_MOD(extack, "collision: TX table row full");
}

/*
 * Walks @rule's row in @dir's table of @m: -EEXIST when a rule with the same
 * match value is there, else whether its entry would be a collision entry
 * (1: the row is at its depth) or does not fit at all (-ENOSPC).
 */
static int sgnic_steer_row_check(struct sgnic_steer_matcher *m, unsigned int dir,
				 const struct sgnic_steer_rule *rule)
{
	struct sgnic_steer_table *t = &m->tbl[dir];
	const u8 *key = sgnic_steer_rule_key(rule);
	struct sgnic_steer_rule *r;
	u32 used = 0;

	if (!t->rules)
		return 0;
	for (r = rcu_dereference_protected(*sgnic_steer_table_head(t, rule->hash),
					   lockdep_is_held(&m->st->lock));
	     r; r = rcu_dereference_protected(*sgnic_steer_rule_link(r, dir),
					      lockdep_is_held(&m->st->lock))) {
		if (!memcmp(sgnic_steer_rule_key(r), key, m->packing.len))
			return -EEXIST;
		if (!(r->in_col & BIT(dir)))
			used++;
	}
	if (used < sgnic_steer_depth(&t->geom))
		return 0;
	if (t->geom.has_col &&
	    t->col_rows[sgnic_steer_col_row(&t->geom, rule->hash)] <
	    sgnic_steer_col_depth(&t->geom))
		return 1;
	return -ENOSPC;
}

/* Links @rule (key and hash set) into the tables of its directions of @m. */
static int sgnic_steer_rule_link_tables(struct sgnic_steer_matcher *m,
					struct sgnic_steer_rule *rule, u8 *full_dirs,
					struct netlink_ext_ack *extack)
{
	struct sgnic_steer_rule __rcu **head;
	struct sgnic_steer_table *t;
	unsigned int dir;
	u8 full = 0, col = 0;
	int err;

	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		if (!(rule->dirs & sgnic_steer_dir_bit(dir)))
			continue;
		err = sgnic_steer_row_check(m, dir, rule);
		if (err == -EEXIST) {
			NL_SET_ERR_MSG_MOD(extack,
					   "a rule with the same direction and match is in the matcher");
			return err;
		}
		if (err == -ENOSPC)
			full |= sgnic_steer_dir_bit(dir);
		else if (err)
			col |= BIT(dir);
	}
	if (full) {
		if (full_dirs)
			*full_dirs = full;
		sgnic_steer_collision_msg(full, extack);
		return -ENOSPC;
	}
	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		if ((rule->dirs & sgnic_steer_dir_bit(dir)) &&
		    sgnic_steer_table_prepare(&m->tbl[dir])) {
			NL_SET_ERR_MSG_MOD(extack, "out of memory for the table's rows");
			return -ENOMEM;
		}
	}
	/* Nothing fails from here on: the rule enters every table at once. */
	rule->in_col = col;
	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		if (!(rule->dirs & sgnic_steer_dir_bit(dir)))
			continue;
		t = &m->tbl[dir];
		if (col & BIT(dir))
			t->col_rows[sgnic_steer_col_row(&t->geom, rule->hash)]++;
		head = sgnic_steer_table_head(t, rule->hash);
		RCU_INIT_POINTER(*sgnic_steer_rule_link(rule, dir),
				 rcu_dereference_protected(*head, lockdep_is_held(&m->st->lock)));
		rcu_assign_pointer(*head, rule);
		WRITE_ONCE(t->rules, t->rules + 1);
	}
	m->rules++;
	return 0;
}

static void sgnic_steer_rule_unlink(struct sgnic_steer_matcher *m,
				    struct sgnic_steer_rule *rule)
{
	struct sgnic_steer_rule __rcu **pp;
	struct sgnic_steer_table *t;
	struct sgnic_steer_rule *r;
	unsigned int dir;

	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		if (!(rule->dirs & sgnic_steer_dir_bit(dir)))
			continue;
		t = &m->tbl[dir];
		pp = sgnic_steer_table_head(t, rule->hash);
		while ((r = rcu_dereference_protected(*pp, lockdep_is_held(&m->st->lock))) &&
		       r != rule)
			pp = sgnic_steer_rule_link(r, dir);
		if (WARN_ON_ONCE(!r))
			continue;
		/* Lookups standing on the rule still find the rest of the row. */
		rcu_assign_pointer(*pp, rcu_dereference_protected(*sgnic_steer_rule_link(rule, dir),
								  lockdep_is_held(&m->st->lock)));
		if (rule->in_col & BIT(dir))
			t->col_rows[sgnic_steer_col_row(&t->geom, rule->hash)]--;
		WRITE_ONCE(t->rules, t->rules - 1);
	}
	m->rules--;
}

/* Rules and device pages per direction over the port's matchers. */
void sgnic_steer_usage(struct sgnic_steer *st, u32 rules[SGNIC_STEER_DIRS],
		       u64 pages[SGNIC_STEER_DIRS])
{
	struct sgnic_steer_matcher *m;
	unsigned int dir;

	lockdep_assert_held(&st->lock);
	for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
		rules[dir] = 0;
		pages[dir] = 0;
	}
	list_for_each_entry(m, &st->matchers, node) {
		for (dir = 0; dir < SGNIC_STEER_DIRS; dir++) {
			rules[dir] += m->tbl[dir].rules;
			pages[dir] += sgnic_steer_table_pages(&m->tbl[dir]);
		}
	}
}

/*
 * A limit below the rules already there refuses new rules until enough
 * are deleted; the rules stay (like a quota lowered below the usage).
 */
void sgnic_steer_set_rule_limit(struct sgnic_steer *st, u32 limit)
{
	mutex_lock(&st->lock);
	st->rule_limit = limit;
	mutex_unlock(&st->lock);
}

int sgnic_steer_rule_insert(struct sgnic_steer_matcher *m,
			    const struct sgnic_steer_rule_spec *spec,
			    u8 *full_dirs, struct netlink_ext_ack *extack)
{
	struct sgnic_steer *st = m->st;
	struct sgnic_steer_rule *rule;
	struct sgnic_steer_acts *a;
	int err;

	lockdep_assert_held(&st->lock);
	if (xa_load(&st->rules, spec->id)) {
		NL_SET_ERR_MSG_MOD(extack, "rule id already in use on the port");
		return -EEXIST;
	}
	if (st->n_rules >= st->rule_limit) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the port's rule limit is reached (devlink resource rules)");
		return -EDQUOT;
	}
	err = sgnic_steer_rule_check(m, spec, extack);
	if (err)
		return err;
	a = sgnic_steer_acts_get(m, spec, extack);
	if (IS_ERR(a))
		return PTR_ERR(a);
	rule = sgnic_steer_rule_alloc(m, spec->dirs, a);
	if (!rule) {
		NL_SET_ERR_MSG_MOD(extack, "out of memory for the rule");
		err = -ENOMEM;
		goto alloc_failed;
	}
	rule->id = spec->id;
	rule->cookie = spec->cookie;
	rule->owner = spec->owner;
	rule->queue = spec->queue;
	rule->hash = sgnic_steer_key_hash(&spec->key);
	sgnic_steer_key_pack(&m->packing, &spec->key, sgnic_steer_rule_key(rule));
	if (a->mark)
		*sgnic_steer_rule_mark_slot(m, rule) = spec->mark;
	err = xa_insert(&st->rules, rule->id, rule, SGNIC_STEER_RULE_GFP);
	if (err) {
		/* The id is free (checked above): only memory can fail. */
		NL_SET_ERR_MSG_MOD(extack, "out of memory for the rule");
		goto xa_insert_failed;
	}
	err = sgnic_steer_rule_link_tables(m, rule, full_dirs, extack);
	if (err)
		goto link_failed;
	WRITE_ONCE(st->n_rules, st->n_rules + 1);
	return 0;

link_failed:
	xa_erase(&st->rules, rule->id);
xa_insert_failed:
	/* Never published: no lookup can hold it. */
	sgnic_steer_rule_free(rule);
alloc_failed:
	sgnic_steer_acts_put(m, a);
	return err;
}

void sgnic_steer_rule_delete(struct sgnic_steer *st, struct sgnic_steer_rule *rule)
{
	struct sgnic_steer_matcher *m = sgnic_steer_rule_matcher(st, rule);

	lockdep_assert_held(&st->lock);
	sgnic_steer_rule_unlink(m, rule);
	if (m->resize_source && m->moved_in)
		m->moved_in--;
	xa_erase(&st->rules, rule->id);
	sgnic_steer_acts_put(m, rule->acts);
	WRITE_ONCE(st->n_rules, st->n_rules - 1);
	rule->reap_next = st->reap;
	st->reap = rule;
}

/* A batch of deleted rules waiting for a grace period. */
struct sgnic_steer_reaped {
	struct rcu_head rcu;
	struct sgnic_steer_rule *first;
};

static void sgnic_steer_free_list(struct sgnic_steer_rule *rule)
{
	struct sgnic_steer_rule *next;

	for (; rule; rule = next) {
		next = rule->reap_next;
		sgnic_steer_rule_free(rule);
	}
}

static void sgnic_steer_reaped_free(struct rcu_head *head)
{
	struct sgnic_steer_reaped *r = container_of(head, struct sgnic_steer_reaped, rcu);

	sgnic_steer_free_list(r->first);
	kfree(r);
}

/*
 * Frees the rules deleted since the last call after a grace period: one
 * callback per request instead of an rcu_head in every rule.  Callers of
 * sgnic_steer_rule_delete() call it before they drop the lock.
 */
void sgnic_steer_reap(struct sgnic_steer *st)
{
	struct sgnic_steer_reaped *r;

	lockdep_assert_held(&st->lock);
	if (!st->reap)
		return;
	r = kmalloc(sizeof(*r), GFP_KERNEL);
	if (r) {
		r->first = st->reap;
		call_rcu(&r->rcu, sgnic_steer_reaped_free);
	} else {
		synchronize_rcu();
		sgnic_steer_free_list(st->reap);
	}
	st->reap = NULL;
}

/*
 * A move copies the rule into the resize target first, so that at every
 * moment the rule is in at least one table the lookup tries (the target
 * before the source); the original leaves when the lot commits.  Hits on
 * either object are folded together after a grace period.
 */
struct sgnic_steer_rule *sgnic_steer_rule_stage_move(struct sgnic_steer_matcher *m,
						     struct sgnic_steer_rule *rule,
						     u8 *full_dirs,
						     struct netlink_ext_ack *extack)
{
	struct sgnic_steer_matcher *t = m->resize_target;
	struct sgnic_steer_rule_spec spec = {};
	struct sgnic_steer_rule *copy;
	struct sgnic_steer_acts *a;
	int err;

	if (!t) {
		NL_SET_ERR_MSG_MOD(extack, "the rule's matcher has no resize target");
		return ERR_PTR(-EINVAL);
	}
	spec.n_acts = rule->acts->n;
	memcpy(spec.types, rule->acts->types, spec.n_acts);
	a = sgnic_steer_acts_get(t, &spec, extack);
	if (IS_ERR(a))
		return ERR_CAST(a);
	/* The same template: the same packed width, so the same size. */
	copy = sgnic_steer_rule_alloc(t, rule->dirs, a);
	if (!copy) {
		NL_SET_ERR_MSG_MOD(extack, "out of memory for the rule's copy");
		err = -ENOMEM;
		goto alloc_failed;
	}
	copy->id = rule->id;
	copy->cookie = rule->cookie;
	copy->owner = rule->owner;
	copy->queue = rule->queue;
	copy->hash = rule->hash;
	memcpy(sgnic_steer_rule_key(copy), sgnic_steer_rule_key(rule),
	       sgnic_steer_rule_key_area(m, rule->acts));
	err = sgnic_steer_rule_link_tables(t, copy, full_dirs, extack);
	if (err)
		goto link_failed;
	return copy;

link_failed:
	sgnic_steer_rule_free(copy);
alloc_failed:
	sgnic_steer_acts_put(t, a);
	return ERR_PTR(err);
}

void sgnic_steer_rule_commit_moves(struct sgnic_steer *st,
				   struct sgnic_steer_rule **copies, u32 n)
{
	struct sgnic_steer_rule *old, *copy;
	struct sgnic_steer_matcher *m;
	u32 i;

	lockdep_assert_held(&st->lock);
	for (i = 0; i < n; i++) {
		sgnic_steer_rule_matcher(st, copies[i])->moved_in++;
		old = xa_store(&st->rules, copies[i]->id, copies[i], GFP_KERNEL);
		/* The slot exists: replacing never allocates. */
		copies[i] = old;
		sgnic_steer_rule_unlink(sgnic_steer_rule_matcher(st, old), old);
	}
	synchronize_rcu();	/* no reader counts on the originals any more */
	for (i = 0; i < n; i++) {
		old = copies[i];
		m = sgnic_steer_rule_matcher(st, old);
		copy = xa_load(&st->rules, old->id);
		sgnic_steer_rule_fold(sgnic_steer_rule_matcher(st, copy), copy, m, old);
		sgnic_steer_acts_put(m, old->acts);
		sgnic_steer_rule_free(old);
	}
}

void sgnic_steer_rule_abort_moves(struct sgnic_steer *st,
				  struct sgnic_steer_rule **copies, u32 n)
{
	struct sgnic_steer_rule *copy, *orig;
	struct sgnic_steer_matcher *m;
	u32 i;

	lockdep_assert_held(&st->lock);
	for (i = 0; i < n; i++)
		sgnic_steer_rule_unlink(sgnic_steer_rule_matcher(st, copies[i]), copies[i]);
	synchronize_rcu();
	for (i = 0; i < n; i++) {
		copy = copies[i];
		m = sgnic_steer_rule_matcher(st, copy);
		orig = xa_load(&st->rules, copy->id);
		sgnic_steer_rule_fold(sgnic_steer_rule_matcher(st, orig), orig, m, copy);
		sgnic_steer_acts_put(m, copy->acts);
		sgnic_steer_rule_free(copy);
	}
}

/* ---- the data path ---- */

static struct sgnic_steer_rule *sgnic_steer_matcher_lookup(struct sgnic_steer_matcher *m,
							   unsigned int dir,
							   const struct sgnic_steer_key *key)
{
	struct sgnic_steer_table *t = &m->tbl[dir];
	struct sgnic_steer_rule __rcu **rows;
	u8 packed[SGNIC_STEER_KEY_BYTES];
	struct sgnic_steer_key masked;
	struct sgnic_steer_rule *r;
	u32 hash;

	if (!READ_ONCE(t->rules))
		return NULL;
	rows = smp_load_acquire(&t->rows);	/* pairs with sgnic_steer_table_prepare() */
	if (!rows)
		return NULL;
	sgnic_steer_key_and(&masked, key, &m->tmpl.mask);
	hash = sgnic_steer_key_hash(&masked);
	sgnic_steer_key_pack(&m->packing, &masked, packed);
	for (r = rcu_dereference(rows[sgnic_steer_row(&t->geom, hash)]); r;
	     r = rcu_dereference(*sgnic_steer_rule_link(r, dir)))
		if (r->hash == hash && !memcmp(sgnic_steer_rule_key(r), packed, m->packing.len))
			return r;
	return NULL;
}

/* Priority order, first match wins; a resize target runs just before its source. */
static struct sgnic_steer_rule *sgnic_steer_lookup(struct sgnic_steer *st,
						   unsigned int dir,
						   const struct sgnic_steer_key *key,
						   struct sgnic_steer_matcher **in)
{
	struct sgnic_steer_matcher *m, *t;
	struct sgnic_steer_rule *rule;

	list_for_each_entry_rcu(m, &st->matchers, node) {
		if (READ_ONCE(m->resize_source))
			continue;
		t = READ_ONCE(m->resize_target);
		if (t) {
			rule = sgnic_steer_matcher_lookup(t, dir, key);
			if (rule) {
				*in = t;
				return rule;
			}
		}
		rule = sgnic_steer_matcher_lookup(m, dir, key);
		if (rule) {
			*in = m;
			return rule;
		}
	}
	return NULL;
}

/* Counts @packets wire frames on @stat (and on receive queue @rxq if >= 0). */
static void sgnic_steer_stat_add(struct sgnic_steer *st, enum sgnic_steer_stat stat,
				 int rxq, u32 packets)
{
	struct sgnic_steer_stats *s = this_cpu_ptr(st->stats);

	u64_stats_update_begin(&s->syncp);
	s->v[stat] += packets;
	if (rxq >= 0)
		s->rxq[rxq] += packets;
	u64_stats_update_end(&s->syncp);
}

/*
 * Runs the tables of @dir on a frame of @key, @packets wire frames and @bytes;
 * fills @v (mark and queue only on RX).  Caller holds rcu_read_lock().
 */
static void sgnic_steer_apply(struct sgnic_steer *st, unsigned int dir,
			      const struct sgnic_steer_key *key, u32 packets, u64 bytes,
			      struct sgnic_steer_verdict *v)
{
	struct sgnic_steer_counters *cnt;
	struct sgnic_steer_matcher *m;
	struct sgnic_steer_rule *rule;
	struct sgnic_steer_acts *a;

	rule = sgnic_steer_lookup(st, dir, key, &m);
	if (!rule)
		return;
	a = rule->acts;
	cnt = sgnic_steer_rule_cnt(m, rule, dir);
	if (cnt) {
		atomic64_add(packets, &cnt->packets);
		atomic64_add(bytes, &cnt->bytes);
	}
	sgnic_steer_stat_add(st, dir == SGNIC_STEER_RX ? SGNIC_STEER_STAT_RX_HITS :
			     SGNIC_STEER_STAT_TX_HITS, -1, packets);
	/* A TX rule has neither mark nor queue: sgnic_steer_rule_check(). */
	if (a->mark) {
		v->mark = *sgnic_steer_rule_mark_slot(m, rule);
		sgnic_steer_stat_add(st, SGNIC_STEER_STAT_RX_MARKED, -1, packets);
	}
	switch (a->terminal) {
	case SGNIC_ACTION_TYPE_DROP:
		v->drop = true;
		sgnic_steer_stat_add(st, dir == SGNIC_STEER_RX ? SGNIC_STEER_STAT_RX_DROPS :
				     SGNIC_STEER_STAT_TX_DROPS, -1, packets);
		break;
	case SGNIC_ACTION_TYPE_QUEUE:
		v->queue = rule->queue;
		sgnic_steer_stat_add(st, SGNIC_STEER_STAT_RX_QUEUED, rule->queue, packets);
		break;
	default:
		break;
	}
}

void sgnic_steer_rx_classify(struct sgnic_port *port,
			     const struct sgnic_steer_key *key, u32 packets,
			     u64 bytes, struct sgnic_steer_verdict *v)
{
	rcu_read_lock();
	sgnic_steer_apply(port->steer, SGNIC_STEER_RX, key, packets, bytes, v);
	rcu_read_unlock();
}

bool sgnic_steer_tx(struct sgnic_port *port, struct sk_buff *skb)
{
	struct sgnic_steer_verdict v = { .queue = -1 };
	struct sgnic_steer *st = port->steer;
	struct sgnic_steer_key key;

	if (!sgnic_steer_active(st))
		return false;
	sgnic_steer_frame_key(skb, &key);
	rcu_read_lock();
	/* A TSO superframe counts as the frames it becomes. */
	sgnic_steer_apply(st, SGNIC_STEER_TX, &key, sgnic_skb_wire_packets(skb),
			  sgnic_skb_wire_bytes(skb, skb->len), &v);
	rcu_read_unlock();
	if (!v.drop)
		return false;
	dev_kfree_skb_any(skb);
	return true;
}

/* ---- ethtool ---- */

static const char * const sgnic_steer_stat_names[SGNIC_STEER_STAT_NUM] = {
	[SGNIC_STEER_STAT_RX_HITS] = "steer_rx_hits",
	[SGNIC_STEER_STAT_RX_DROPS] = "steer_rx_drops",
	[SGNIC_STEER_STAT_TX_HITS] = "steer_tx_hits",
	[SGNIC_STEER_STAT_TX_DROPS] = "steer_tx_drops",
	[SGNIC_STEER_STAT_RX_MARKED] = "steer_rx_marked",
	[SGNIC_STEER_STAT_RX_QUEUED] = "steer_rx_queued",
};

int sgnic_steer_ethtool_count(void)
{
	return SGNIC_STEER_STAT_NUM + SGNIC_STEER_RXQ_MAX;
}

void sgnic_steer_ethtool_strings(u8 **data)
{
	unsigned int i;

	for (i = 0; i < SGNIC_STEER_STAT_NUM; i++)
		ethtool_sprintf(data, "%s", sgnic_steer_stat_names[i]);
	for (i = 0; i < SGNIC_STEER_RXQ_MAX; i++)
		ethtool_sprintf(data, "steer_rxq%u", i);
}

void sgnic_steer_ethtool_stats(struct sgnic_port *port, u64 *data)
{
	const struct sgnic_steer_stats *s;
	unsigned int cpu, i, start;
	struct sgnic_steer_stats v;

	memset(data, 0, sgnic_steer_ethtool_count() * sizeof(*data));
	for_each_possible_cpu(cpu) {
		s = per_cpu_ptr(port->steer->stats, cpu);
		do {
			start = u64_stats_fetch_begin(&s->syncp);
			memcpy(v.v, s->v, sizeof(v.v));
			memcpy(v.rxq, s->rxq, sizeof(v.rxq));
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (i = 0; i < SGNIC_STEER_STAT_NUM; i++)
			data[i] += v.v[i];
		for (i = 0; i < SGNIC_STEER_RXQ_MAX; i++)
			data[SGNIC_STEER_STAT_NUM + i] += v.rxq[i];
	}
}

/* ---- lifetime ---- */

int sgnic_steer_port_init(struct sgnic_port *port)
{
	struct sgnic_steer *st;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	st->stats = netdev_alloc_pcpu_stats(struct sgnic_steer_stats);
	if (!st->stats) {
		kfree(st);
		return -ENOMEM;
	}
	st->port = port;
	st->rule_limit = SGNIC_STEER_PORT_RULES_DEFAULT;
	st->steer_gen = get_random_u64();
	mutex_init(&st->lock);
	INIT_LIST_HEAD(&st->matchers);
	xa_init_flags(&st->rules, XA_FLAGS_ACCOUNT);
	port->steer = st;
	return 0;
}

/* The data path no longer runs for the port. */
void sgnic_steer_port_fini(struct sgnic_port *port)
{
	struct sgnic_steer *st = port->steer;
	struct sgnic_steer_matcher *m, *tmp;
	struct sgnic_steer_rule *rule;
	unsigned long id;

	if (!st)
		return;
	mutex_lock(&st->lock);
	/* A port may hold millions of rules: yield between them (a debug
	 * kernel's rmmod of 1M rules tripped the soft-lockup watchdog).
	 */
	xa_for_each(&st->rules, id, rule) {
		sgnic_steer_rule_delete(st, rule);
		cond_resched();
	}
	sgnic_steer_reap(st);
	list_for_each_entry_safe(m, tmp, &st->matchers, node) {
		WRITE_ONCE(m->resize_target, NULL);
		WRITE_ONCE(m->resize_source, NULL);
	}
	list_for_each_entry_safe(m, tmp, &st->matchers, node)
		WARN_ON(sgnic_steer_matcher_destroy(m, NULL));
	mutex_unlock(&st->lock);
	xa_destroy(&st->rules);
	mutex_destroy(&st->lock);
	free_percpu(st->stats);
	kfree(st);
	port->steer = NULL;
}

static void sgnic_steer_destroy_caches(void)
{
	unsigned int i;

	kmem_cache_destroy(sgnic_steer_matcher_cache);
	sgnic_steer_matcher_cache = NULL;
	for (i = 0; i < SGNIC_STEER_RULE_CACHES; i++) {
		kmem_cache_destroy(sgnic_steer_rule_caches[i]);
		sgnic_steer_rule_caches[i] = NULL;
	}
}

int sgnic_steer_init(void)
{
	size_t size;
	unsigned int i;

	BUILD_BUG_ON(sizeof(struct sgnic_steer_rule) % SGNIC_STEER_RULE_ALIGN);
	BUILD_BUG_ON(SGNIC_STEER_MAX_MATCHERS > U8_MAX);
	/* The smallest rule: one link and nothing else. */
	size = sizeof(struct sgnic_steer_rule) + sizeof(struct sgnic_steer_rule *);
	for (i = size / SGNIC_STEER_RULE_ALIGN; i < SGNIC_STEER_RULE_CACHES; i++) {
		snprintf(sgnic_steer_rule_cache_names[i], sizeof(sgnic_steer_rule_cache_names[i]),
			 "sgnic_steer_rule_%u", i * SGNIC_STEER_RULE_ALIGN);
		sgnic_steer_rule_caches[i] =
			kmem_cache_create(sgnic_steer_rule_cache_names[i],
					  i * SGNIC_STEER_RULE_ALIGN, SGNIC_STEER_RULE_ALIGN,
					  SLAB_ACCOUNT, NULL);
		if (!sgnic_steer_rule_caches[i])
			goto failed;
	}
	sgnic_steer_matcher_cache = KMEM_CACHE(sgnic_steer_matcher, SLAB_ACCOUNT);
	if (!sgnic_steer_matcher_cache)
		goto failed;
	return 0;

failed:
	sgnic_steer_destroy_caches();
	return -ENOMEM;
}

void sgnic_steer_fini(void)
{
	rcu_barrier();	/* rules and action templates freed after a grace period */
	sgnic_steer_destroy_caches();
}
