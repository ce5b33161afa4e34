// SPDX-License-Identifier: GPL-2.0
/*
 * Pools per user: one user may hold at most max_pools_per_user open pools
 * (CAP_SYS_RESOURCE is not limited), so that, with the per-pool bounds on
 * entries and arena, one user cannot exhaust the machine through kpool.
 * Counted per kuid of the opener; the pool remembers whom to credit back.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include "kpool.h"

struct kpool_user {
	struct hlist_node	node;
	kuid_t			uid;
	unsigned int		pools;
};

static DEFINE_HASHTABLE(kpool_users, 6);
static DEFINE_SPINLOCK(kpool_users_lock);

static struct kpool_user *kpool_user_find(kuid_t uid)
{
	struct kpool_user *u;

	hash_for_each_possible(kpool_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/* Count a new pool for the current user; -EMFILE past the limit. */
int kpool_user_charge(struct kpool_ctx *pool)
{
	struct kpool_user *u, *fresh;
	kuid_t uid = current_uid();
	int ret = 0;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return -ENOMEM;
	spin_lock(&kpool_users_lock);
	u = kpool_user_find(uid);
	if (!u) {
		u = fresh;
		fresh = NULL;
		u->uid = uid;
		hash_add(kpool_users, &u->node, __kuid_val(uid));
	}
	if (u->pools >= kpool_max_pools_per_user &&
	    !capable(CAP_SYS_RESOURCE))
		ret = -EMFILE;
	else
		u->pools++;
	if (ret && !u->pools) {
		hash_del(&u->node);
		fresh = u;
	}
	spin_unlock(&kpool_users_lock);
	kfree(fresh);
	if (!ret)
		pool->owner = uid;
	return ret;
}

void kpool_user_uncharge(struct kpool_ctx *pool)
{
	struct kpool_user *u;

	spin_lock(&kpool_users_lock);
	u = kpool_user_find(pool->owner);
	if (u && !--u->pools)
		hash_del(&u->node);
	else
		u = NULL;
	spin_unlock(&kpool_users_lock);
	kfree(u);
}
