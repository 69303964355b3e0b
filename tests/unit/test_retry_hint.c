/* CUnit: when a throttled embedding request goes again: the providers' retry hints (x-amz-retry-after, Retry-After) and the backoff without one. */
#include <stdio.h>
#include <string.h>

#include "cunit_main.h"
#include "retry_hint.h"

static int parse(const char *line, long *ms)
{
	*ms = -7;
	return retry_hint_parse(line, strlen(line), ms);
}

static void test_headers(void)
{
	long ms;
	CU_ASSERT_EQUAL(parse("x-amz-retry-after: 1500\r\n", &ms), RETRY_HINT_AMZ_MS);
	CU_ASSERT_EQUAL(ms, 1500);
	CU_ASSERT_EQUAL(parse("X-Amz-Retry-After:0\r\n", &ms), RETRY_HINT_AMZ_MS);
	CU_ASSERT_EQUAL(ms, 0);
	CU_ASSERT_EQUAL(parse("Retry-After: 2\r\n", &ms), RETRY_HINT_SECONDS);
	CU_ASSERT_EQUAL(ms, 2000);
	CU_ASSERT_EQUAL(parse("retry-after: \t 3  \r\n", &ms), RETRY_HINT_SECONDS);
	CU_ASSERT_EQUAL(ms, 3000);
	CU_ASSERT_EQUAL(parse("Retry-After: 0.25\r\n", &ms), RETRY_HINT_SECONDS);
	CU_ASSERT_EQUAL(ms, 250);
	/* no line end (the last header curl hands over may lack it) */
	CU_ASSERT_EQUAL(parse("Retry-After: 1", &ms), RETRY_HINT_SECONDS);
	CU_ASSERT_EQUAL(ms, 1000);
}

static void test_not_hints(void)
{
	long ms;
	/* an HTTP-date depends on both clocks agreeing: not honoured, the backoff applies */
	CU_ASSERT_EQUAL(parse("Retry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("Retry-After: -5\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("Retry-After: \r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("Retry-After: 5s\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("x-amz-retry-after: abc\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("x-amz-retry-after: 1.5\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("x-amz-retry-after: 99999999999999999999999\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("Retry-After: nan\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("Retry-After: 1e300\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("x-amz-retry-after-x: 5\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("Content-Type: application/json\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("HTTP/1.1 429 Too Many Requests\r\n", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(parse("Retry-After", &ms), RETRY_HINT_NONE);
	CU_ASSERT_EQUAL(ms, -7); /* untouched */
}

static void test_delay(void)
{
	unsigned seed = 1;
	/* a hint is honoured as given, up to RETRY_HINT_MAX_MS */
	CU_ASSERT_EQUAL(retry_throttled_ms(1500, 1, &seed), 1500);
	CU_ASSERT_EQUAL(retry_throttled_ms(0, 4, &seed), 0);
	CU_ASSERT_EQUAL(retry_throttled_ms(10 * RETRY_HINT_MAX_MS, 1, &seed), RETRY_HINT_MAX_MS);
	/* without one: half fixed, half random, doubling per throttle of that request, capped */
	for (int i = 0; i < 200; i++) {
		long d1 = retry_throttled_ms(-1, 1, &seed), d3 = retry_throttled_ms(-1, 3, &seed),
		     d30 = retry_throttled_ms(-1, 30, &seed);
		CU_ASSERT(d1 >= RETRY_BASE_MS / 2 && d1 <= RETRY_BASE_MS);
		CU_ASSERT(d3 >= RETRY_BASE_MS * 2 && d3 <= RETRY_BASE_MS * 4);
		CU_ASSERT(d30 >= RETRY_CAP_MS / 2 && d30 <= RETRY_CAP_MS);
	}
	/* and it is random: not 200 times the same */
	{
		long first = retry_throttled_ms(-1, 5, &seed);
		int differs = 0;
		for (int i = 0; i < 200; i++)
			differs |= retry_throttled_ms(-1, 5, &seed) != first;
		CU_ASSERT(differs);
	}
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"x-amz-retry-after and Retry-After", test_headers},
		{"what is no hint", test_not_hints},
		{"the delay", test_delay},
		{NULL, NULL},
	};
	return run_suite("retry_hint", tests);
}
