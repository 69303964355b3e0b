/*
 * The accounting rule: every source row read is inserted, existing, updated
 * (a catch-up run rewrote its target row), merged or rejected, once:
 * read = inserted + existing + updated + merged + rejected.
 */
#ifndef MDW_ACCOUNTING_H
#define MDW_ACCOUNTING_H

#include <stddef.h>

struct mdw_counts {
	long long read, inserted, existing, updated, merged, rejected;
};

/* Add B into A. */
void mdw_counts_add(struct mdw_counts *a, const struct mdw_counts *b);

/* 1 if C balances and no count is negative, else 0 with WHY describing the difference. */
int mdw_counts_balanced(const struct mdw_counts *c, char *why, size_t whylen);

#endif
