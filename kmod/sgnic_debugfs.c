// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: debugfs, sgnic/<dev>/.  Read-only views of the portals, the
 * port's frame queues and its buffer pool, and fault knobs in the style of
 * netdevsim, each next to the feature it breaks.  A knob refuses values
 * outside its range and then changes nothing.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "sgnic.h"

static int sgnic_debugfs_portals_show(struct seq_file *m, void *v)
{
	struct sgnic_port *port = m->private;
	struct sgnic_portal *portal;
	unsigned int cpu;

	seq_printf(m, "%-4s %-10s %-12s %-12s %-8s %s\n", "cpu", "polls",
		   "dequeued", "fman_frames", "dqrr_max", "dqrr_size");
	for_each_possible_cpu(cpu) {
		portal = port->sd->portals[cpu];
		seq_printf(m, "%-4u %-10llu %-12llu %-12llu %-8u %u\n", cpu,
			   READ_ONCE(portal->polls), READ_ONCE(portal->dequeued),
			   READ_ONCE(portal->fman_frames),
			   READ_ONCE(portal->dqrr_max), SGNIC_DQRR_SIZE);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sgnic_debugfs_portals);

static void sgnic_debugfs_fq_show(struct seq_file *m, const struct sgnic_fq *fq)
{
	seq_printf(m, "%-6u %-8s %-4u %-6u %-6u %-10llu %-10llu %-6llu %-4d %llu\n",
		   fq->fqid, sgnic_fq_type_name(fq->type), fq->cpu, fq->depth,
		   READ_ONCE(fq->count), READ_ONCE(fq->enqueued),
		   READ_ONCE(fq->dequeued), READ_ONCE(fq->busy),
		   READ_ONCE(fq->congested), READ_ONCE(fq->cgr_entered));
}

static int sgnic_debugfs_fqs_show(struct seq_file *m, void *v)
{
	struct sgnic_port *port = m->private;
	unsigned int cpu;

	seq_printf(m, "%-6s %-8s %-4s %-6s %-6s %-10s %-10s %-6s %-4s %s\n",
		   "fqid", "type", "cpu", "depth", "count", "enqueued",
		   "dequeued", "busy", "cgr", "cgr_entered");
	for_each_possible_cpu(cpu) {
		sgnic_debugfs_fq_show(m, &port->fqs[cpu].tx);
		sgnic_debugfs_fq_show(m, &port->fqs[cpu].conf);
		sgnic_debugfs_fq_show(m, &port->fqs[cpu].rx);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sgnic_debugfs_fqs);

static int sgnic_debugfs_bpool_show(struct seq_file *m, void *v)
{
	struct sgnic_port *port = m->private;
	struct sgnic_bpool *pool = &port->bpool;
	unsigned int cpu;

	seq_printf(m, "bpid: %u\n", pool->bpid);
	seq_printf(m, "buf_len: %u\n", pool->buf_len);
	seq_printf(m, "buf_size: %u\n", pool->alloc_size);
	seq_printf(m, "headroom: %u\n", SGNIC_RX_HEADROOM);
	seq_printf(m, "seed_per_cpu: %u\n", SGNIC_BPOOL_SEED_PER_CPU);
	seq_printf(m, "low_water: %u\n", SGNIC_BPOOL_LOW_WATER);
	seq_printf(m, "capacity: %u\n", pool->capacity);
	seq_printf(m, "avail: %u\n", sgnic_bpool_avail(pool));
	seq_printf(m, "held: %u\n", READ_ONCE(pool->nheld));
	seq_printf(m, "count: %d\n", sgnic_bpool_count_sum(pool));
	seq_printf(m, "acquired: %llu\n", READ_ONCE(pool->acquired));
	seq_printf(m, "released: %llu\n", READ_ONCE(pool->released));
	seq_printf(m, "acquire_failed: %llu\n", READ_ONCE(pool->acquire_failed));
	seq_printf(m, "refills: %lld\n", atomic64_read(&pool->refills));
	for_each_possible_cpu(cpu)
		seq_printf(m, "cpu%u_count: %d\n", cpu,
			   READ_ONCE(*per_cpu_ptr(pool->count, cpu)));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sgnic_debugfs_bpool);

/* ---- fault knobs ---- */

struct sgnic_knob {
	const char *name;
	u32 min;
	u32 max;
	u32 (*get)(struct sgnic_port *port);
	void (*set)(struct sgnic_port *port, u32 val);
};

static u32 sgnic_knob_deplete_get(struct sgnic_port *port)
{
	return READ_ONCE(port->bpool.depleted);
}

static void sgnic_knob_deplete_set(struct sgnic_port *port, u32 val)
{
	sgnic_bpool_set_depleted(&port->bpool, val);
}

static u32 sgnic_knob_busy_get(struct sgnic_port *port)
{
	return atomic_read(&port->faults.enqueue_busy);
}

static void sgnic_knob_busy_set(struct sgnic_port *port, u32 val)
{
	atomic_set(&port->faults.enqueue_busy, val);
}

static u32 sgnic_knob_sgt_max_get(struct sgnic_port *port)
{
	return READ_ONCE(port->faults.sgt_max);
}

static void sgnic_knob_sgt_max_set(struct sgnic_port *port, u32 val)
{
	WRITE_ONCE(port->faults.sgt_max, val);
}

static u32 sgnic_knob_no_final_get(struct sgnic_port *port)
{
	return READ_ONCE(port->faults.sgt_no_final);
}

static void sgnic_knob_no_final_set(struct sgnic_port *port, u32 val)
{
	WRITE_ONCE(port->faults.sgt_no_final, val);
}

static const struct sgnic_knob sgnic_knobs[] = {
	/* Rx: the pool gives the frame manager no buffer (rx_nobuf). */
	{ "fault_bpool_deplete", 0, 1, sgnic_knob_deplete_get, sgnic_knob_deplete_set },
	/* Tx: this many enqueues fail with "busy" (tx_enq_busy, then drops). */
	{ "fault_enqueue_busy", 0, SGNIC_ENQUEUE_BUSY_MAX, sgnic_knob_busy_get,
	  sgnic_knob_busy_set },
	/* Tx: S/G table entries the driver may use; fewer linearize more. */
	{ "sgt_max_entries", SGNIC_SGT_MAX_MIN, SGNIC_SGT_MAX_ENTRIES,
	  sgnic_knob_sgt_max_get, sgnic_knob_sgt_max_set },
	/* Tx: S/G tables lack the final bit; the frame manager rejects them. */
	{ "fault_sgt_no_final", 0, 1, sgnic_knob_no_final_get,
	  sgnic_knob_no_final_set },
};

/* What a knob file's i_private points at. */
struct sgnic_knob_file {
	struct sgnic_port *port;
	const struct sgnic_knob *knob;
};

static ssize_t sgnic_knob_read(struct file *file, char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	struct sgnic_knob_file *kf = file->private_data;
	char buf[16];
	int len;

	len = scnprintf(buf, sizeof(buf), "%u\n", kf->knob->get(kf->port));
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static ssize_t sgnic_knob_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct sgnic_knob_file *kf = file->private_data;
	const struct sgnic_knob *knob = kf->knob;
	u32 val;
	int err;

	err = kstrtou32_from_user(ubuf, count, 0, &val);
	if (err)
		return err;
	if (val < knob->min || val > knob->max)
		return -ERANGE;
	mutex_lock(&kf->port->knob_lock);
	knob->set(kf->port, val);
	mutex_unlock(&kf->port->knob_lock);
	return count;
}

static const struct file_operations sgnic_knob_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= sgnic_knob_read,
	.write	= sgnic_knob_write,
	.llseek	= default_llseek,
};

void sgnic_debugfs_port_add(struct sgnic_port *port)
{
	struct sgnic_knob_file *kf;
	unsigned int i;

	port->ddir = debugfs_create_dir(netdev_name(port->netdev), port->sd->ddir);
	debugfs_create_file("portals", 0400, port->ddir, port, &sgnic_debugfs_portals_fops);
	debugfs_create_file("fqs", 0400, port->ddir, port, &sgnic_debugfs_fqs_fops);
	debugfs_create_file("bpool", 0400, port->ddir, port, &sgnic_debugfs_bpool_fops);
	kf = kcalloc(ARRAY_SIZE(sgnic_knobs), sizeof(*kf), GFP_KERNEL);
	port->knob_files = kf;
	if (!kf)
		return;	/* debugfs is best effort */
	for (i = 0; i < ARRAY_SIZE(sgnic_knobs); i++) {
		kf[i].port = port;
		kf[i].knob = &sgnic_knobs[i];
		debugfs_create_file(sgnic_knobs[i].name, 0600, port->ddir, &kf[i],
				    &sgnic_knob_fops);
	}
}

void sgnic_debugfs_port_del(struct sgnic_port *port)
{
	debugfs_remove_recursive(port->ddir);
	port->ddir = NULL;
	kfree(port->knob_files);
	port->knob_files = NULL;
}

void sgnic_debugfs_init(struct sgnic_dev *sd)
{
	sd->ddir = debugfs_create_dir(SGNIC_DRV_NAME, NULL);
}

void sgnic_debugfs_fini(struct sgnic_dev *sd)
{
	debugfs_remove_recursive(sd->ddir);
	sd->ddir = NULL;
}
