/* IPv4 addresses as text and numbers (host byte order). */
#ifndef STRATA_NET_ADDR_H
#define STRATA_NET_ADDR_H

#include <stdint.h>

/* "a.b.c.d" -> *out; -1 when it is not one. */
int st_ipv4_parse(const char *text, uint32_t *out);
/* "a.b.c.d/n" -> the network address (host bits cleared) and n; -1 when
 * it is not one. */
int st_ipv4_parse_cidr(const char *text, uint32_t *net, int *prefix);
/* The netmask of a prefix length, host order. */
uint32_t st_ipv4_mask(int prefix);
/* "a.b.c.d" of a (buf of at least 16 bytes); returns buf. */
char *st_ipv4_format(uint32_t a, char buf[16]);

#endif
