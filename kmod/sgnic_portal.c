// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: software portals, one per CPU.  A portal's NAPI poll plays both
 * sides of the queue manager: it lets the frame manager drain the Tx FQs of
 * its CPU, then dequeues Rx and Tx-confirm FDs into its small dequeue ring
 * (DQRR) and hands each to the driver.  Rx frames count against the budget.
 */
#include <linux/cpu.h>
#include <linux/filter.h>
#include <linux/slab.h>

#include "sgnic.h"

/* Fills the DQRR from the Tx-confirm and Rx FQs of this CPU, round robin. */
static unsigned int sgnic_portal_dequeue(struct sgnic_portal *portal)
{
	struct sgnic_dev *sd = portal->sd;
	struct sgnic_port_fqs *fqs;
	unsigned int n = 0, i, k;

	for (i = 0; i < sd->nports && n < SGNIC_DQRR_SIZE; i++) {
		k = (portal->next_port + i) % sd->nports;
		fqs = &sd->ports[k]->fqs[portal->cpu];
		while (n < SGNIC_DQRR_SIZE && sgnic_fq_pop(&fqs->conf, &portal->dqrr[n].fd))
			portal->dqrr[n++].fq = &fqs->conf;
		n += sgnic_fq_rx_take(&fqs->rx, portal->dqrr + n, SGNIC_DQRR_SIZE - n);
	}
	portal->next_port = sd->nports ? (portal->next_port + 1) % sd->nports : 0;
	portal->dequeued += n;
	portal->dqrr_max = max_t(u32, portal->dqrr_max, n);
	return n;
}

static bool sgnic_portal_pending(struct sgnic_portal *portal)
{
	struct sgnic_dev *sd = portal->sd;
	struct sgnic_port_fqs *fqs;
	unsigned int i;

	for (i = 0; i < sd->nports; i++) {
		fqs = &sd->ports[i]->fqs[portal->cpu];
		if (READ_ONCE(fqs->tx.count) || fqs->conf.count || READ_ONCE(fqs->rx.count))
			return true;
	}
	return false;
}

/*
 * Tops up, for this CPU, the pools of the ports that are up; the Rx FDs
 * taken before hold no frame manager back any more (see sgnic_fman_paused()).
 */
static void sgnic_portal_refill(struct sgnic_portal *portal)
{
	struct sgnic_dev *sd = portal->sd;
	unsigned int i;

	for (i = 0; i < sd->nports; i++) {
		if (READ_ONCE(sd->ports[i]->up))
			sgnic_bpool_refill(&sd->ports[i]->bpool);
		sgnic_fq_rx_taken(&sd->ports[i]->fqs[portal->cpu].rx);
	}
}

static int sgnic_portal_poll(struct napi_struct *napi, int budget)
{
	struct sgnic_portal *portal = container_of(napi, struct sgnic_portal, napi);
	struct sgnic_dqrr_entry *e;
	unsigned int rounds, n, i, moved;
	int rx_done = 0;

	portal->polls++;
	for (rounds = 0; rounds < SGNIC_PORTAL_MAX_ROUNDS && rx_done < budget;
	     rounds++) {
		moved = sgnic_fman_run(portal);
		n = sgnic_portal_dequeue(portal);
		if (!n && !moved)
			break;
		for (i = 0; i < n; i++) {
			e = &portal->dqrr[i];
			if (e->fq->type == SGNIC_FQ_RX) {
				sgnic_port_rx(portal, e->fq->port, &e->fd);
				rx_done++;
			} else {
				sgnic_port_tx_confirm(e->fq->port, e->fq->cpu, &e->fd,
						      budget);
			}
		}
		/* Every round: a jumbo frame may take 10 buffers at once. */
		sgnic_portal_refill(portal);
	}

	/* Frames redirected to other devices leave now. */
	if (portal->xdp_redirected) {
		xdp_do_flush();
		portal->xdp_redirected = false;
	}
	/* Stopped early with work left: stay scheduled. */
	if (rx_done >= budget || sgnic_portal_pending(portal))
		return budget;
	napi_complete_done(napi, rx_done);
	return rx_done;
}

/* The doorbell: frames were enqueued for the portal of @cpu. */
void sgnic_portal_kick(struct sgnic_dev *sd, unsigned int cpu)
{
	napi_schedule(&sd->portals[cpu]->napi);
}

/* The doorbell's interrupt: runs on the portal's CPU, in hard IRQ context. */
static void sgnic_portal_doorbell(void *data)
{
	struct sgnic_portal *portal = data;

	napi_schedule(&portal->napi);
}

/* Rings @cpu's doorbell; a ring still pending (-EBUSY) covers this one. */
static void sgnic_portal_ring(struct sgnic_dev *sd, unsigned int cpu)
{
	smp_call_function_single_async(cpu, &sd->portals[cpu]->doorbell);
}

static void sgnic_portal_nop(void *unused)
{
}

/*
 * Rings the doorbells of the portals whose Rx FQs this poll's frame manager
 * filled (queue rules): each schedules its own NAPI on its own CPU, so the
 * frames are processed there.  A doorbell already rung and not yet run
 * covers these frames too.
 */
void sgnic_portal_ring_doorbells(struct sgnic_portal *portal)
{
	struct sgnic_dev *sd = portal->sd;
	unsigned int cpu;

	for_each_cpu(cpu, portal->doorbells)
		sgnic_portal_ring(sd, cpu);
	cpumask_clear(portal->doorbells);
}

int sgnic_portals_create(struct sgnic_dev *sd)
{
	struct sgnic_portal *portal;
	unsigned int cpu;

	sd->portals = kcalloc(nr_cpu_ids, sizeof(*sd->portals), GFP_KERNEL);
	if (!sd->portals)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		portal = kzalloc(sizeof(*portal), GFP_KERNEL);
		if (!portal)
			goto portal_alloc_failed;
		sd->portals[cpu] = portal;
		if (!zalloc_cpumask_var(&portal->doorbells, GFP_KERNEL))
			goto portal_alloc_failed;
		portal->cpu = cpu;
		portal->sd = sd;
		INIT_CSD(&portal->doorbell, sgnic_portal_doorbell, portal);
		init_dummy_netdev(&portal->napi_dev);
		netif_napi_add(&portal->napi_dev, &portal->napi, sgnic_portal_poll);
		napi_enable(&portal->napi);
	}
	return 0;

portal_alloc_failed:
	sgnic_portals_destroy(sd);
	return -ENOMEM;
}

void sgnic_portals_destroy(struct sgnic_dev *sd)
{
	struct sgnic_portal *portal;
	unsigned int cpu;

	if (!sd->portals)
		return;
	/* No poll runs after this: no doorbell is rung again. */
	for_each_possible_cpu(cpu) {
		portal = sd->portals[cpu];
		if (portal && portal->napi.poll)
			napi_disable(&portal->napi);
	}
	/*
	 * Wait for doorbells already rung: a CPU runs the functions queued to
	 * it in one batch, waited-for calls first, so a call that was waited
	 * for may share a batch with a doorbell that has yet to run; a second
	 * call comes in a later batch.
	 */
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		smp_call_function_single(cpu, sgnic_portal_nop, NULL, true);
		smp_call_function_single(cpu, sgnic_portal_nop, NULL, true);
	}
	cpus_read_unlock();
	for_each_possible_cpu(cpu) {
		portal = sd->portals[cpu];
		if (!portal)
			continue;
		if (portal->napi.poll)
			netif_napi_del(&portal->napi);
		free_cpumask_var(portal->doorbells);
		kfree(portal);
	}
	kfree(sd->portals);
	sd->portals = NULL;
}

/*
 * Waits for every poll to finish and keeps the portals idle, so process
 * context may touch any FQ and pool.  Callers hold RTNL, which also keeps
 * two quiesce sections from nesting.
 */
void sgnic_portals_quiesce(struct sgnic_dev *sd)
{
	unsigned int cpu;

	ASSERT_RTNL();
	for_each_possible_cpu(cpu)
		napi_disable(&sd->portals[cpu]->napi);
}

void sgnic_portals_resume(struct sgnic_dev *sd)
{
	unsigned int cpu;

	ASSERT_RTNL();
	for_each_possible_cpu(cpu)
		napi_enable(&sd->portals[cpu]->napi);
	/*
	 * Doorbells rung while quiesced were lost: ring them all again, each
	 * on its portal's CPU (a NAPI runs where it was scheduled).
	 */
	cpus_read_lock();
	for_each_online_cpu(cpu)
		sgnic_portal_ring(sd, cpu);
	cpus_read_unlock();
}
