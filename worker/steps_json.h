/*
 * A workflow template's steps, normalized: the legacy text must be JSON and
 * an array; it comes out as compact JSON with its member order kept. Kept
 * apart from the phase so that it can be fuzzed on its own.
 */
#ifndef MDW_STEPS_JSON_H
#define MDW_STEPS_JSON_H

#include <stddef.h>

/*
 * Normalize the steps text IN (NULL: no steps, gives "[]"). Returns 0 with
 * *OUT a malloc'd string the caller frees; -1 when IN is not a JSON array,
 * with the reason in WHY (never the text itself); -2 when out of memory.
 * Not thread-safe: it swaps jansson's allocator (for a wrapper of the
 * installed one) during the parse.
 */
int wt_normalize_steps(const char *in, char **out, char *why, size_t whylen) __attribute__((warn_unused_result));

#endif
