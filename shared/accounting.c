/* The accounting rule's arithmetic (see accounting.h). */
#include <stdio.h>

#include "mdw/accounting.h"

void mdw_counts_add(struct mdw_counts *a, const struct mdw_counts *b)
{
	a->read += b->read;
	a->inserted += b->inserted;
	a->existing += b->existing;
	a->updated += b->updated;
	a->merged += b->merged;
	a->rejected += b->rejected;
}

int mdw_counts_balanced(const struct mdw_counts *c, char *why, size_t whylen)
{
	long long sum = c->inserted + c->existing + c->updated + c->merged + c->rejected;

	if (c->read < 0 || c->inserted < 0 || c->existing < 0 || c->updated < 0 || c->merged < 0 || c->rejected < 0) {
		snprintf(why, whylen,
			 "a count is negative (read %lld inserted %lld existing %lld updated %lld merged %lld rejected %lld)",
			 c->read, c->inserted, c->existing, c->updated, c->merged, c->rejected);
		return 0;
	}
	if (sum != c->read) {
		snprintf(why, whylen,
			 "read %lld != inserted %lld + existing %lld + updated %lld + merged %lld + rejected %lld (= %lld)",
			 c->read, c->inserted, c->existing, c->updated, c->merged, c->rejected, sum);
		return 0;
	}
	return 1;
}
