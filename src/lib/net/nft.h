/* nftables through libnftables: one ruleset text applied as one kernel
 * transaction (no process per rule). */
#ifndef STRATA_NET_NFT_H
#define STRATA_NET_NFT_H

#include "util/error.h"

/* Applies ruleset (nft syntax) atomically; the error holds nft's own
 * message. */
int st_nft_apply(const char *ruleset, st_error **err);

#endif
