/*
 * CUnit: the growable string (shared/strbuf.c): appends of bytes, strings and
 * formats across many growths, take and reuse, and the out-of-memory path
 * through a failing allocator (sticky, reported by every later append and by
 * take, nothing leaked), including a length that would overflow.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "mdw/strbuf.h"

static void test_append(void)
{
	struct strbuf b = STRBUF_INIT;
	char *s;

	CU_ASSERT_EQUAL(strbuf_puts(&b, "ab"), 0);
	CU_ASSERT_EQUAL(strbuf_putc(&b, 'c'), 0);
	CU_ASSERT_EQUAL(strbuf_putn(&b, "defXXX", 3), 0);
	CU_ASSERT_EQUAL(strbuf_printf(&b, "-%d-%s-%.2f", 42, "x", 0.5), 0);
	CU_ASSERT_EQUAL(b.len, strlen("abcdef-42-x-0.50"));
	CU_ASSERT_STRING_EQUAL(b.p, "abcdef-42-x-0.50");
	CU_ASSERT_FALSE(b.oom);
	s = strbuf_take(&b);
	CU_ASSERT_STRING_EQUAL(s, "abcdef-42-x-0.50");
	free(s);
	/* taken: empty and reusable */
	CU_ASSERT_PTR_NULL(b.p);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(strbuf_puts(&b, "again"), 0);
	CU_ASSERT_STRING_EQUAL(b.p, "again");
	strbuf_free(&b);
	CU_ASSERT_PTR_NULL(b.p);
	strbuf_free(&b); /* twice is fine */
}

static void test_empty(void)
{
	struct strbuf b = STRBUF_INIT;
	char *s = strbuf_take(&b);

	/* nothing appended: "" (a string, not NULL: NULL means out of memory) */
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
	CU_ASSERT_EQUAL(strbuf_putn(&b, "", 0), 0);
	CU_ASSERT_EQUAL(strbuf_printf(&b, "%s", ""), 0);
	CU_ASSERT_EQUAL(b.len, 0);
	strbuf_free(&b);
}

static void test_growth(void)
{
	struct strbuf b = STRBUF_INIT;
	char want[16];
	int failed = 0;

	/* 100000 appends of 2 to 6 bytes: every growth keeps what was there, always NUL-terminated */
	for (int i = 0; i < 100000; i++) {
		snprintf(want, sizeof want, "%d,", i);
		failed += (i % 2 ? strbuf_puts(&b, want) : strbuf_printf(&b, "%d,", i)) != 0;
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_TRUE(b.cap > b.len);
	CU_ASSERT_EQUAL(b.p[b.len], '\0');
	CU_ASSERT_EQUAL(strncmp(b.p, "0,1,2,3,", 8), 0);
	CU_ASSERT_STRING_EQUAL(b.p + b.len - 6, "99999,");
	{
		size_t n = 0;
		for (int i = 0; i < 100000; i++)
			n += (size_t)snprintf(want, sizeof want, "%d,", i);
		CU_ASSERT_EQUAL(b.len, n);
	}
	strbuf_free(&b);
}

static void test_printf_long(void)
{
	struct strbuf b = STRBUF_INIT;
	char *big = malloc(70001);

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'y', 70000);
	big[70000] = 0;
	/* one format far larger than the room left: formatted again after the growth, whole */
	CU_ASSERT_EQUAL(strbuf_puts(&b, "<"), 0);
	CU_ASSERT_EQUAL(strbuf_printf(&b, "%s|%08d", big, 7), 0);
	CU_ASSERT_EQUAL(b.len, 1 + 70000 + 9);
	CU_ASSERT_EQUAL(b.p[0], '<');
	CU_ASSERT_EQUAL(b.p[70000], 'y');
	CU_ASSERT_STRING_EQUAL(b.p + 70001, "|00000007");
	free(big);
	strbuf_free(&b);
}

static void test_bytes(void)
{
	struct strbuf b = STRBUF_INIT;
	static const char raw[] = {'a', 0, 'b', (char)0xff};

	/* any bytes, NUL included: len counts them, p stays NUL-terminated after them */
	CU_ASSERT_EQUAL(strbuf_putn(&b, raw, sizeof raw), 0);
	CU_ASSERT_EQUAL(strbuf_putc(&b, 0), 0);
	CU_ASSERT_EQUAL(b.len, 5);
	CU_ASSERT_EQUAL(memcmp(b.p, raw, sizeof raw), 0);
	CU_ASSERT_EQUAL(b.p[5], '\0');
	strbuf_free(&b);
}

/* An allocator that grants BUDGET allocations, then fails. */
static int budget;
static int refused;

static void *failing_realloc(void *p, size_t n)
{
	if (budget-- > 0)
		return realloc(p, n);
	refused++;
	return NULL;
}

static void test_oom_first(void)
{
	struct strbuf b = STRBUF_INIT;

	budget = 0;
	refused = 0;
	strbuf_set_realloc(failing_realloc);
	CU_ASSERT_EQUAL(strbuf_puts(&b, "x"), -1);
	CU_ASSERT_TRUE(b.oom);
	CU_ASSERT_EQUAL(strbuf_printf(&b, "%d", 1), -1);
	CU_ASSERT_EQUAL(strbuf_putc(&b, 'y'), -1);
	CU_ASSERT_EQUAL(refused, 1); /* sticky: no allocation is tried again */
	strbuf_set_realloc(NULL);
	/* even with memory back, the string stays incomplete: take says so */
	CU_ASSERT_EQUAL(strbuf_puts(&b, "z"), -1);
	CU_ASSERT_PTR_NULL(strbuf_take(&b));
	CU_ASSERT_FALSE(b.oom); /* taken: empty and reusable */
	CU_ASSERT_EQUAL(strbuf_puts(&b, "ok"), 0);
	CU_ASSERT_STRING_EQUAL(b.p, "ok");
	strbuf_free(&b);
}

static void test_oom_growing(void)
{
	struct strbuf b = STRBUF_INIT;
	char chunk[100];
	int rc = 0, appended = 0;

	memset(chunk, 'q', sizeof chunk);
	/* the first allocation granted, a growth refused: what was appended before stays readable */
	budget = 1;
	refused = 0;
	strbuf_set_realloc(failing_realloc);
	while (rc == 0 && appended < 1000) {
		rc = strbuf_putn(&b, chunk, sizeof chunk);
		appended += rc == 0;
	}
	strbuf_set_realloc(NULL);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_TRUE(appended >= 1 && appended < 1000);
	CU_ASSERT_EQUAL(b.len, (size_t)appended * sizeof chunk);
	CU_ASSERT_EQUAL(b.p[b.len], '\0');
	CU_ASSERT_EQUAL(strbuf_printf(&b, "%s", "more"), -1);
	CU_ASSERT_EQUAL(b.len, (size_t)appended * sizeof chunk);
	CU_ASSERT_PTR_NULL(strbuf_take(&b)); /* frees the partial string: LeakSanitizer would say otherwise */
	CU_ASSERT_PTR_NULL(b.p);
}

static void test_overflow(void)
{
	struct strbuf b = STRBUF_INIT;

	/* a length that cannot be allocated is out of memory, not a wrapped size */
	CU_ASSERT_EQUAL(strbuf_puts(&b, "abc"), 0);
	budget = 1000;
	refused = 0;
	strbuf_set_realloc(failing_realloc);
	CU_ASSERT_EQUAL(strbuf_putn(&b, "x", SIZE_MAX - 1), -1);
	strbuf_set_realloc(NULL);
	CU_ASSERT_EQUAL(refused, 0); /* refused before asking the allocator */
	CU_ASSERT_TRUE(b.oom);
	CU_ASSERT_STRING_EQUAL(b.p, "abc");
	strbuf_free(&b);
}

static const struct unit_test tests[] = {
	{"bytes, strings, characters and formats", test_append},
	{"nothing appended", test_empty},
	{"growth keeps the content", test_growth},
	{"a format larger than the room left", test_printf_long},
	{"any bytes", test_bytes},
	{"out of memory at the first append", test_oom_first},
	{"out of memory while growing", test_oom_growing},
	{"a length that would overflow", test_overflow},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("strbuf", tests);
}
