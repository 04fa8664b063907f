/* libnftables: the library is bound on first use (gen-lazy.py), so only
 * the commands that change rules pay for loading it. */
#include "net/nft.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <string.h>

int st_nft_apply(const char *ruleset, st_error **err) {
  struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == NULL)
    return st_error_set(err, ENOMEM, "nftables: cannot create a context");
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  int r = 0;
  if (nft_run_cmd_from_buffer(ctx, ruleset) != 0) {
    const char *msg = nft_ctx_get_error_buffer(ctx);
    size_t n = msg ? strlen(msg) : 0;
    while (n && msg[n - 1] == '\n')
      n--;
    r = st_error_set(err, EIO, "nftables: %.*s", (int)n, msg ? msg : "failed");
  }
  nft_ctx_free(ctx);
  return r;
}
