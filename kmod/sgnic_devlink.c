// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: the device as devlink shows it.  One devlink instance for the
 * module's one device (platform/sgnic): the frame manager, the portals and
 * the DMA device are shared by every port pair, as the FMan of a DPAA SoC is
 * shared by its MACs, so the instance is the device and each netdev is a
 * physical devlink port of it (numbered as the netdevs are).
 *
 * Each port has two health reporters:
 *   bpool  Rx frames dropped because the buffer pool was empty.  The dump
 *          shows the pool; recover puts back the buffers a fault took out
 *          (the model's re-seed of the pool).
 *   fman   the frame manager refused a Tx frame descriptor (a bad S/G
 *          table).  The dump shows the last refused FD and why; the frame
 *          was already confirmed with an error, so recover only re-arms.
 *
 * Param rx_buf_len (runtime): the receive buffer length of every port, as
 * ethtool's rx-buf-len sets it for one.
 *
 * Resources, per port N under /pN: rules (the port's rule limit, set with
 * `devlink resource set` and applied by `devlink dev reload`), rx_pages and
 * tx_pages (device pages of the port's tables, sized by the most its
 * matchers can take) and pool_buffers (the receive buffer pool).
 */
#include <linux/bitops.h>
#include <linux/rtnetlink.h>

#include "sgnic.h"
#include "sgnic_steer.h"
#include "sgnic_steer_geom.h"

struct sgnic_devlink {
	struct sgnic_dev *sd;
};

/* Resource ids: a block per port, the port's parent first (id 0 is the top). */
enum {
	SGNIC_RES_PORT = 1,
	SGNIC_RES_RULES,
	SGNIC_RES_RX_PAGES,
	SGNIC_RES_TX_PAGES,
	SGNIC_RES_POOL_BUFFERS,
	SGNIC_RES_PER_PORT,
};

static u64 sgnic_res_id(const struct sgnic_port *port, unsigned int res)
{
	return (u64)port->index * SGNIC_RES_PER_PORT + res;
}

static int sgnic_devlink_info_get(struct devlink *devlink, struct devlink_info_req *req,
				  struct netlink_ext_ack *extack)
{
	return devlink_info_driver_name_put(req, SGNIC_DRV_NAME) ?:
	       devlink_info_serial_number_put(req, SGNIC_DEVLINK_SERIAL) ?:
	       devlink_info_version_running_put(req, DEVLINK_INFO_VERSION_GENERIC_FW,
						SGNIC_DRV_VERSION);
}

static int sgnic_devlink_reload_down(struct devlink *devlink, bool netns_change,
				     enum devlink_reload_action action,
				     enum devlink_reload_limit limit,
				     struct netlink_ext_ack *extack)
{
	if (netns_change) {
		NL_SET_ERR_MSG_MOD(extack, "the device stays in the initial network namespace");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Applies the sizes set with `devlink resource set`: the ports' rule limits. */
static int sgnic_devlink_reload_up(struct devlink *devlink, enum devlink_reload_action action,
				   enum devlink_reload_limit limit, u32 *actions_performed,
				   struct netlink_ext_ack *extack)
{
	struct sgnic_devlink *priv = devlink_priv(devlink);
	struct sgnic_dev *sd = priv->sd;
	struct sgnic_port *port;
	unsigned int i;
	u64 size;
	int err;

	for (i = 0; i < sd->nports; i++) {
		port = sd->ports[i];
		err = devl_resource_size_get(devlink, sgnic_res_id(port, SGNIC_RES_RULES), &size);
		if (err)
			return err;
		sgnic_steer_set_rule_limit(port->steer, size);
	}
	*actions_performed = BIT(DEVLINK_RELOAD_ACTION_DRIVER_REINIT);
	return 0;
}

static const struct devlink_ops sgnic_devlink_ops = {
	.reload_actions = BIT(DEVLINK_RELOAD_ACTION_DRIVER_REINIT),
	.reload_down = sgnic_devlink_reload_down,
	.reload_up = sgnic_devlink_reload_up,
	.info_get = sgnic_devlink_info_get,
};

/* ---- params ---- */

enum sgnic_devlink_param_id {
	SGNIC_DEVLINK_PARAM_RX_BUF_LEN = DEVLINK_PARAM_GENERIC_ID_MAX + 1,
};

static int sgnic_param_rx_buf_len_get(struct devlink *devlink, u32 id,
				      struct devlink_param_gset_ctx *ctx)
{
	struct sgnic_devlink *priv = devlink_priv(devlink);

	ctx->val.vu32 = priv->sd->rx_buf_len;
	return 0;
}

/* Every port's pool gets buffers of the new length; all or none of them. */
static int sgnic_param_rx_buf_len_set(struct devlink *devlink, u32 id,
				      struct devlink_param_gset_ctx *ctx)
{
	struct sgnic_devlink *priv = devlink_priv(devlink);
	struct sgnic_dev *sd = priv->sd;
	u32 old[SGNIC_PORTS_MAX];
	unsigned int i;
	int err = 0;

	rtnl_lock();
	for (i = 0; i < sd->nports; i++) {
		old[i] = sd->ports[i]->bpool.buf_len;
		err = sgnic_port_set_rx_buf_len(sd->ports[i], ctx->val.vu32, NULL);
		if (err)
			break;
	}
	if (err) {
		while (i--)
			sgnic_port_set_rx_buf_len(sd->ports[i], old[i], NULL);
	} else {
		sd->rx_buf_len = ctx->val.vu32;
	}
	rtnl_unlock();
	return err;
}

static int sgnic_param_rx_buf_len_validate(struct devlink *devlink, u32 id,
					   union devlink_param_value val,
					   struct netlink_ext_ack *extack)
{
	struct sgnic_dev *sd = ((struct sgnic_devlink *)devlink_priv(devlink))->sd;
	unsigned int i;
	int err = 0;

	if (val.vu32 < SGNIC_RX_BUF_LEN_MIN || val.vu32 > SGNIC_RX_BUF_LEN_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "rx_buf_len must be within "
				   __stringify(SGNIC_RX_BUF_LEN_MIN) ".."
				   __stringify(SGNIC_RX_BUF_LEN_MAX));
		return -ERANGE;
	}
	rtnl_lock();
	for (i = 0; i < sd->nports && !err; i++)
		if (!sgnic_port_xdp_allows(sd->ports[i], sd->ports[i]->netdev->mtu, val.vu32))
			err = -EBUSY;
	rtnl_unlock();
	if (err)
		NL_SET_ERR_MSG_MOD(extack,
				   "a port's XDP program has no frags support: rx_buf_len must hold its whole frames (MTU + 18)");
	return err;
}

static const struct devlink_param sgnic_devlink_params[] = {
	DEVLINK_PARAM_DRIVER(SGNIC_DEVLINK_PARAM_RX_BUF_LEN, "rx_buf_len", DEVLINK_PARAM_TYPE_U32,
			     BIT(DEVLINK_PARAM_CMODE_RUNTIME), sgnic_param_rx_buf_len_get,
			     sgnic_param_rx_buf_len_set, sgnic_param_rx_buf_len_validate),
};

/* ---- resources ---- */

static u64 sgnic_res_rules_occ(void *priv)
{
	struct sgnic_port *port = priv;

	return READ_ONCE(port->steer->n_rules);
}

static u64 sgnic_res_pages_occ(struct sgnic_port *port, enum sgnic_steer_dir dir)
{
	struct sgnic_steer *st = port->steer;
	u32 rules[SGNIC_STEER_DIRS];
	u64 pages[SGNIC_STEER_DIRS];

	mutex_lock(&st->lock);
	sgnic_steer_usage(st, rules, pages);
	mutex_unlock(&st->lock);
	return pages[dir];
}

static u64 sgnic_res_rx_pages_occ(void *priv)
{
	return sgnic_res_pages_occ(priv, SGNIC_STEER_RX);
}

static u64 sgnic_res_tx_pages_occ(void *priv)
{
	return sgnic_res_pages_occ(priv, SGNIC_STEER_TX);
}

static u64 sgnic_res_pool_occ(void *priv)
{
	struct sgnic_port *port = priv;

	return sgnic_bpool_avail(&port->bpool);
}

struct sgnic_res_desc {
	unsigned int id;
	const char *name;
	devlink_resource_occ_get_t *occ_get;
};

static const struct sgnic_res_desc sgnic_port_resources[] = {
	{ SGNIC_RES_RULES, "rules", sgnic_res_rules_occ },
	{ SGNIC_RES_RX_PAGES, "rx_pages", sgnic_res_rx_pages_occ },
	{ SGNIC_RES_TX_PAGES, "tx_pages", sgnic_res_tx_pages_occ },
	{ SGNIC_RES_POOL_BUFFERS, "pool_buffers", sgnic_res_pool_occ },
};

/* The most device pages one direction of a port can take: every matcher at its largest. */
static u64 sgnic_res_pages_max(void)
{
	struct sgnic_steer_geom g;

	sgnic_steer_geom_init(&g, SGNIC_STEER_SIZE_LOG_MAX);
	return SGNIC_STEER_MAX_MATCHERS * sgnic_steer_pages(&g);
}

/*
 * Stops the first @n occupancy callbacks of the port (they read it); the
 * resources themselves go with the instance.
 */
static void sgnic_devlink_port_resources_del(struct sgnic_port *port, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		devlink_resource_occ_get_unregister(port->sd->devlink,
						    sgnic_res_id(port, sgnic_port_resources[i].id));
}

static int sgnic_devlink_port_resources(struct sgnic_port *port)
{
	struct devlink *devlink = port->sd->devlink;
	struct devlink_resource_size_params params;
	const struct sgnic_res_desc *r;
	unsigned int i;
	u64 size;
	int err;

	snprintf(port->dl_name, sizeof(port->dl_name), "p%u", port->index);
	devlink_resource_size_params_init(&params, 0, U64_MAX, 1, DEVLINK_RESOURCE_UNIT_ENTRY);
	err = devlink_resource_register(devlink, port->dl_name, U64_MAX,
					sgnic_res_id(port, SGNIC_RES_PORT),
					DEVLINK_RESOURCE_ID_PARENT_TOP, &params);
	if (err)
		return err;
	for (i = 0; i < ARRAY_SIZE(sgnic_port_resources); i++) {
		r = &sgnic_port_resources[i];
		switch (r->id) {
		case SGNIC_RES_RULES:
			size = SGNIC_STEER_PORT_RULES_DEFAULT;
			devlink_resource_size_params_init(&params, 0, SGNIC_STEER_PORT_RULES_MAX, 1,
							  DEVLINK_RESOURCE_UNIT_ENTRY);
			break;
		case SGNIC_RES_POOL_BUFFERS:
			size = port->bpool.capacity;
			devlink_resource_size_params_init(&params, size, size, 1,
							  DEVLINK_RESOURCE_UNIT_ENTRY);
			break;
		default:
			size = sgnic_res_pages_max();
			devlink_resource_size_params_init(&params, size, size, 1,
							  DEVLINK_RESOURCE_UNIT_ENTRY);
			break;
		}
		err = devlink_resource_register(devlink, r->name, size,
						sgnic_res_id(port, r->id),
						sgnic_res_id(port, SGNIC_RES_PORT), &params);
		if (err) {
			sgnic_devlink_port_resources_del(port, i);
			return err;
		}
		devlink_resource_occ_get_register(devlink, sgnic_res_id(port, r->id), r->occ_get,
						  port);
	}
	return 0;
}

/* ---- bpool reporter ---- */

struct sgnic_bpool_state {
	u32 buf_len;
	u32 capacity;
	u32 avail;
	u32 held;
	bool fault_deplete;
	u64 acquired;
	u64 released;
	u64 acquire_failed;
};

static void sgnic_bpool_state_read(struct sgnic_bpool *pool, struct sgnic_bpool_state *st)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	st->buf_len = pool->buf_len;
	st->capacity = pool->capacity;
	st->avail = pool->avail;
	st->held = pool->nheld;
	st->fault_deplete = pool->depleted;
	st->acquired = pool->acquired;
	st->released = pool->released;
	st->acquire_failed = pool->acquire_failed;
	spin_unlock_irqrestore(&pool->lock, flags);
}

/* Dump and diagnose alike: the pool as it is now. */
static int sgnic_bpool_reporter_show(struct devlink_health_reporter *reporter,
				     struct devlink_fmsg *fmsg,
				     struct netlink_ext_ack *extack)
{
	struct sgnic_port *port = devlink_health_reporter_priv(reporter);
	struct sgnic_bpool *pool = &port->bpool;
	struct sgnic_bpool_state st;

	sgnic_bpool_state_read(pool, &st);
	return devlink_fmsg_string_pair_put(fmsg, "netdev", netdev_name(port->netdev)) ?:
	       devlink_fmsg_u8_pair_put(fmsg, "bpid", pool->bpid) ?:
	       devlink_fmsg_u32_pair_put(fmsg, "buf_len", st.buf_len) ?:
	       devlink_fmsg_u32_pair_put(fmsg, "capacity", st.capacity) ?:
	       devlink_fmsg_u32_pair_put(fmsg, "avail", st.avail) ?:
	       devlink_fmsg_u32_pair_put(fmsg, "held", st.held) ?:
	       devlink_fmsg_bool_pair_put(fmsg, "fault_deplete", st.fault_deplete) ?:
	       devlink_fmsg_u64_pair_put(fmsg, "acquired", st.acquired) ?:
	       devlink_fmsg_u64_pair_put(fmsg, "released", st.released) ?:
	       devlink_fmsg_u64_pair_put(fmsg, "acquire_failed", st.acquire_failed) ?:
	       devlink_fmsg_u64_pair_put(fmsg, "refills", atomic64_read(&pool->refills));
}

static int sgnic_bpool_reporter_dump(struct devlink_health_reporter *reporter,
				     struct devlink_fmsg *fmsg, void *priv_ctx,
				     struct netlink_ext_ack *extack)
{
	return sgnic_bpool_reporter_show(reporter, fmsg, extack);
}

static int sgnic_bpool_reporter_recover(struct devlink_health_reporter *reporter,
					void *priv_ctx, struct netlink_ext_ack *extack)
{
	struct sgnic_port *port = devlink_health_reporter_priv(reporter);

	mutex_lock(&port->knob_lock);
	sgnic_bpool_set_depleted(&port->bpool, false);
	mutex_unlock(&port->knob_lock);
	clear_bit(SGNIC_HEALTH_BPOOL, &port->health.latched);
	return 0;
}

static const struct devlink_health_reporter_ops sgnic_bpool_reporter_ops = {
	.name = "bpool",
	.recover = sgnic_bpool_reporter_recover,
	.dump = sgnic_bpool_reporter_dump,
	.diagnose = sgnic_bpool_reporter_show,
};

/* ---- fman reporter ---- */

static const char *const sgnic_fman_err_names[] = {
	[SGNIC_FMAN_OK]			= "none",
	[SGNIC_FMAN_ERR_FORMAT]		= "unsupported FD format",
	[SGNIC_FMAN_ERR_SG_EXTENSION]	= "S/G extension entry",
	[SGNIC_FMAN_ERR_SG_NO_FINAL]	= "S/G table without a final entry",
	[SGNIC_FMAN_ERR_SG_LENGTH]	= "S/G entries do not add up to the FD length",
	[SGNIC_FMAN_ERR_TSO]		= "TSO frame it cannot segment",
};

static const char *sgnic_fd_format_name(enum sgnic_fd_format format)
{
	switch (format) {
	case SGNIC_FD_CONTIG:
		return "contig";
	case SGNIC_FD_CONTIG_BIG:
		return "contig-big";
	case SGNIC_FD_SG:
		return "sg";
	case SGNIC_FD_SG_BIG:
		return "sg-big";
	}
	return "?";
}

/* Any context: records the refused FD and raises the fman event. */
void sgnic_devlink_fman_error(struct sgnic_port *port, unsigned int cpu,
			      const struct sgnic_fd *fd, enum sgnic_fman_err reason)
{
	struct sgnic_port_health *health = &port->health;
	unsigned long flags;

	spin_lock_irqsave(&health->lock, flags);
	health->fman_errors++;
	health->bad_fd = *fd;
	health->bad_reason = reason;
	health->bad_cpu = cpu;
	spin_unlock_irqrestore(&health->lock, flags);
	sgnic_health_note(port, SGNIC_HEALTH_FMAN);
}

static int sgnic_fman_reporter_show(struct devlink_health_reporter *reporter,
				    struct devlink_fmsg *fmsg,
				    struct netlink_ext_ack *extack)
{
	struct sgnic_port *port = devlink_health_reporter_priv(reporter);
	struct sgnic_port_health *health = &port->health;
	enum sgnic_fman_err reason;
	unsigned long flags;
	struct sgnic_fd fd;
	unsigned int cpu;
	u64 errors;
	int err;

	spin_lock_irqsave(&health->lock, flags);
	errors = health->fman_errors;
	fd = health->bad_fd;
	reason = health->bad_reason;
	cpu = health->bad_cpu;
	spin_unlock_irqrestore(&health->lock, flags);

	err = devlink_fmsg_string_pair_put(fmsg, "netdev", netdev_name(port->netdev)) ?:
	      devlink_fmsg_u64_pair_put(fmsg, "refused_fds", errors) ?:
	      devlink_fmsg_string_pair_put(fmsg, "last_reason", sgnic_fman_err_names[reason]);
	if (err || reason == SGNIC_FMAN_OK)
		return err;
	return devlink_fmsg_u32_pair_put(fmsg, "last_cpu", cpu) ?:
	       devlink_fmsg_pair_nest_start(fmsg, "last_fd") ?:
	       devlink_fmsg_obj_nest_start(fmsg) ?:
	       devlink_fmsg_string_pair_put(fmsg, "format",
					    sgnic_fd_format_name(sgnic_fd_format(&fd))) ?:
	       devlink_fmsg_u64_pair_put(fmsg, "addr", sgnic_fd_addr(&fd)) ?:
	       devlink_fmsg_u32_pair_put(fmsg, "offset", sgnic_fd_offset(&fd)) ?:
	       devlink_fmsg_u32_pair_put(fmsg, "length", sgnic_fd_length(&fd)) ?:
	       devlink_fmsg_u8_pair_put(fmsg, "bpid", fd.bpid) ?:
	       devlink_fmsg_u32_pair_put(fmsg, "cmd_status", be32_to_cpu(fd.cmd_status)) ?:
	       devlink_fmsg_obj_nest_end(fmsg) ?:
	       devlink_fmsg_pair_nest_end(fmsg);
}

static int sgnic_fman_reporter_dump(struct devlink_health_reporter *reporter,
				    struct devlink_fmsg *fmsg, void *priv_ctx,
				    struct netlink_ext_ack *extack)
{
	return sgnic_fman_reporter_show(reporter, fmsg, extack);
}

static int sgnic_fman_reporter_recover(struct devlink_health_reporter *reporter,
				       void *priv_ctx, struct netlink_ext_ack *extack)
{
	struct sgnic_port *port = devlink_health_reporter_priv(reporter);

	clear_bit(SGNIC_HEALTH_FMAN, &port->health.latched);
	return 0;
}

static const struct devlink_health_reporter_ops sgnic_fman_reporter_ops = {
	.name = "fman",
	.recover = sgnic_fman_reporter_recover,
	.dump = sgnic_fman_reporter_dump,
	.diagnose = sgnic_fman_reporter_show,
};

/* ---- ports ---- */

static void sgnic_health_report(struct sgnic_port *port, enum sgnic_health_event event,
				struct devlink_health_reporter *reporter, const char *msg)
{
	struct sgnic_port_health *health = &port->health;

	if (!test_and_clear_bit(event, &health->pending))
		return;
	/* devlink warns of a report while the instance is not registered. */
	if (READ_ONCE(port->sd->devlink_live))
		devlink_health_report(reporter, msg, NULL);
	else
		clear_bit(event, &health->latched);
}

static void sgnic_health_work(struct work_struct *work)
{
	struct sgnic_port *port = container_of(work, struct sgnic_port, health.work);

	sgnic_health_report(port, SGNIC_HEALTH_BPOOL, port->health.bpool,
			    "buffer pool empty: received frames dropped");
	sgnic_health_report(port, SGNIC_HEALTH_FMAN, port->health.fman,
			    "frame manager refused a Tx frame descriptor");
}

/* Before the netdev is registered. */
int sgnic_devlink_port_add(struct sgnic_port *port)
{
	struct sgnic_port_health *health = &port->health;
	struct devlink_port_attrs attrs = {
		.flavour = DEVLINK_PORT_FLAVOUR_PHYSICAL,
		.phys.port_number = port->index,
	};
	const struct devlink_health_reporter_ops *bpool_ops = &sgnic_bpool_reporter_ops;
	const struct devlink_health_reporter_ops *fman_ops = &sgnic_fman_reporter_ops;
	u64 grace = SGNIC_HEALTH_GRACE_MS;
	int err;

	spin_lock_init(&health->lock);
	INIT_WORK(&health->work, sgnic_health_work);
	devlink_port_attrs_set(&port->dl_port, &attrs);
	err = devlink_port_register(port->sd->devlink, &port->dl_port, port->index);
	if (err)
		return err;
	health->bpool = devlink_port_health_reporter_create(&port->dl_port, bpool_ops,
							    grace, port);
	if (IS_ERR(health->bpool)) {
		err = PTR_ERR(health->bpool);
		goto bpool_failed;
	}
	health->fman = devlink_port_health_reporter_create(&port->dl_port, fman_ops,
							   grace, port);
	if (IS_ERR(health->fman)) {
		err = PTR_ERR(health->fman);
		goto fman_failed;
	}
	err = sgnic_devlink_port_resources(port);
	if (err)
		goto resources_failed;
	return 0;

resources_failed:
	devlink_port_health_reporter_destroy(health->fman);
fman_failed:
	devlink_port_health_reporter_destroy(health->bpool);
bpool_failed:
	devlink_port_unregister(&port->dl_port);
	return err;
}

/* After the netdev is unregistered: the data path no longer raises events. */
void sgnic_devlink_port_del(struct sgnic_port *port)
{
	sgnic_devlink_port_resources_del(port, ARRAY_SIZE(sgnic_port_resources));
	cancel_work_sync(&port->health.work);
	devlink_port_health_reporter_destroy(port->health.fman);
	devlink_port_health_reporter_destroy(port->health.bpool);
	devlink_port_unregister(&port->dl_port);
}

/* ---- the instance ---- */

int sgnic_devlink_create(struct sgnic_dev *sd)
{
	struct sgnic_devlink *priv;
	int err;

	sd->devlink = devlink_alloc(&sgnic_devlink_ops, sizeof(*priv), &sd->pdev->dev);
	if (!sd->devlink)
		return -ENOMEM;
	priv = devlink_priv(sd->devlink);
	priv->sd = sd;
	sd->rx_buf_len = SGNIC_RX_BUF_LEN_DEFAULT;
	devlink_set_features(sd->devlink, DEVLINK_F_RELOAD);
	err = devlink_params_register(sd->devlink, sgnic_devlink_params,
				      ARRAY_SIZE(sgnic_devlink_params));
	if (err) {
		devlink_free(sd->devlink);
		return err;
	}
	return 0;
}

void sgnic_devlink_destroy(struct sgnic_dev *sd)
{
	devlink_params_unregister(sd->devlink, sgnic_devlink_params,
				  ARRAY_SIZE(sgnic_devlink_params));
	devlink_resources_unregister(sd->devlink);
	devlink_free(sd->devlink);
}

/* Last step of the module's init: user space sees a complete device. */
void sgnic_devlink_register(struct sgnic_dev *sd)
{
	devlink_register(sd->devlink);
	WRITE_ONCE(sd->devlink_live, true);
}

/* First step of the module's exit, while the data path still runs. */
void sgnic_devlink_unregister(struct sgnic_dev *sd)
{
	unsigned int i;

	WRITE_ONCE(sd->devlink_live, false);
	/* A report already running finishes; later ones see !devlink_live. */
	for (i = 0; i < sd->nports; i++)
		cancel_work_sync(&sd->ports[i]->health.work);
	devlink_unregister(sd->devlink);
}
