/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CHIMNEY_BLOCK_H
#define _CHIMNEY_BLOCK_H

#include <net/chimney.h>

struct chim_tree *chim_tree_create(struct chim_host *host, enum chim_op op,
				   enum chim_upload_reason reason);
struct chim_block *chim_block_create(struct chim_tree *tree,
				     struct chim_block *parent,
				     enum chim_obj_type type,
				     struct chim_obj *handle, void **target_ctx);
void chim_tree_destroy(struct chim_tree *tree);
bool chim_status_ok(enum chim_status status);
int chim_status_to_errno(enum chim_status status);

#endif /* _CHIMNEY_BLOCK_H */
