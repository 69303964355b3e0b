/* CUnit: the text to embed: its cache hash (known vectors, no collisions) and truncation to Titan's limits. */
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "mdw/embed_text.h"

static void test_hash_known(void)
{
	char hex[65];
	/* printf '28:amazon.titan-embed-text-v2:0\n1024\nhello world' | sha256sum */
	CU_ASSERT_EQUAL_FATAL(embed_hash("amazon.titan-embed-text-v2:0", 1024, "hello world", 11, hex), 0);
	CU_ASSERT_STRING_EQUAL(hex, "68e6c6faae592b549ef8fed4065999a8fdb9610a69cddef39a81dfa2c4d0eb06");
	/* printf '1:m\n3\nhi' | sha256sum */
	CU_ASSERT_EQUAL_FATAL(embed_hash("m", 3, "hi", 2, hex), 0);
	CU_ASSERT_STRING_EQUAL(hex, "c8c8789dc015369d81af8b1b8ef82f9d97333860fe3e31beff8ec54ff1aeae7f");
	/* printf '1:m\n3\n' | sha256sum: the empty text */
	CU_ASSERT_EQUAL_FATAL(embed_hash("m", 3, NULL, 0, hex), 0);
	CU_ASSERT_STRING_EQUAL(hex, "1ab63057ee41aede255d86afc474c840f68098d06e2921f915c10c3699b287ca");
}

static void test_hash_distinct(void)
{
	char a[65], b[65], c[65], d[65], e[65];
	CU_ASSERT_EQUAL_FATAL(embed_hash("titan", 1024, "abc", 3, a), 0);
	CU_ASSERT_EQUAL_FATAL(embed_hash("titan", 512, "abc", 3, b), 0);
	CU_ASSERT_EQUAL_FATAL(embed_hash("titan2", 1024, "abc", 3, c), 0);
	CU_ASSERT_EQUAL_FATAL(embed_hash("titan", 1024, "abd", 3, d), 0);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_STRING_NOT_EQUAL(a, c);
	CU_ASSERT_STRING_NOT_EQUAL(a, d);
	/* Shifting bytes between the fields must change the hash: "a\n1" + 2 + "x" vs "a" + 1 + "2\nx"-like splits. */
	CU_ASSERT_EQUAL_FATAL(embed_hash("a\n1", 2, "x", 1, a), 0);
	CU_ASSERT_EQUAL_FATAL(embed_hash("a", 1, "2\nx", 3, b), 0);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL_FATAL(embed_hash("m", 12, "3\nx", 3, c), 0);
	CU_ASSERT_EQUAL_FATAL(embed_hash("m", 1, "2\n3\nx", 5, d), 0);
	CU_ASSERT_STRING_NOT_EQUAL(c, d);
	/* Bytes after a NUL count. */
	CU_ASSERT_EQUAL_FATAL(embed_hash("m", 1, "a\0b", 3, d), 0);
	CU_ASSERT_EQUAL_FATAL(embed_hash("m", 1, "a\0c", 3, e), 0);
	CU_ASSERT_STRING_NOT_EQUAL(d, e);
}

static void test_hash_bad_args(void)
{
	char hex[65];
	CU_ASSERT_EQUAL(embed_hash(NULL, 1024, "x", 1, hex), -1);
	CU_ASSERT_EQUAL(embed_hash("", 1024, "x", 1, hex), -1);
	CU_ASSERT_EQUAL(embed_hash("m", 0, "x", 1, hex), -1);
	CU_ASSERT_EQUAL(embed_hash("m", 70000, "x", 1, hex), -1);
	CU_ASSERT_EQUAL(embed_hash("m", 8, NULL, 1, hex), -1);
}

static void test_tokens_est(void)
{
	CU_ASSERT_EQUAL(embed_tokens_est("", 0), 0);
	CU_ASSERT_EQUAL(embed_tokens_est("abcd", 4), 1);
	CU_ASSERT_EQUAL(embed_tokens_est("abcde", 5), 2);
	/* "é" (2 bytes) and "日" (3 bytes): one token each */
	CU_ASSERT_EQUAL(embed_tokens_est("\xc3\xa9\xe6\x97\xa5", 5), 2);
}

static void test_truncate_fits(void)
{
	int cut = 7;
	CU_ASSERT_EQUAL(embed_truncate("hello world", 11, 50000, 8192, &cut), 11);
	CU_ASSERT_EQUAL(cut, 0);
	CU_ASSERT_EQUAL(embed_truncate("", 0, 10, 10, &cut), 0);
	CU_ASSERT_EQUAL(cut, 0);
	/* exactly at the limit */
	CU_ASSERT_EQUAL(embed_truncate("abcde", 5, 5, 0, &cut), 5);
	CU_ASSERT_EQUAL(cut, 0);
	/* 0: no limit */
	CU_ASSERT_EQUAL(embed_truncate("abcde", 5, 0, 0, NULL), 5);
}

static void test_truncate_word(void)
{
	int cut = 0;
	/* 13 characters allowed: "hello big wor" -> cut back to "hello big" */
	CU_ASSERT_EQUAL(embed_truncate("hello big world", 15, 13, 0, &cut), 9);
	CU_ASSERT_EQUAL(cut, 1);
	/* the limit falls on a space: keep the whole first words, without the spaces */
	CU_ASSERT_EQUAL(embed_truncate("hello   world", 13, 7, 0, &cut), 5);
	/* one long word: cut at the limit */
	CU_ASSERT_EQUAL(embed_truncate("abcdefghij", 10, 4, 0, &cut), 4);
	CU_ASSERT_EQUAL(cut, 1);
	/* tokens: 2 tokens = 8 ASCII bytes: "aaa bbb ccc" -> "aaa bbb" */
	CU_ASSERT_EQUAL(embed_truncate("aaa bbb ccc", 11, 0, 2, &cut), 7);
	CU_ASSERT_EQUAL(cut, 1);
	/* leading whitespace only before the word: keep what fits rather than nothing */
	CU_ASSERT_EQUAL(embed_truncate("  abcdefgh", 10, 5, 0, &cut), 5);
}

static int valid_utf8_prefix(const unsigned char *s, size_t n)
{
	/* the byte after the prefix must not be a continuation byte */
	return n == 0 || (s[n] & 0xC0) != 0x80;
}

static void test_truncate_utf8(void)
{
	/* "ééééé" (10 bytes), 3 characters allowed: 6 bytes */
	const char *e5 = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
	int cut;
	CU_ASSERT_EQUAL(embed_truncate(e5, 10, 3, 0, &cut), 6);
	CU_ASSERT_EQUAL(cut, 1);
	/* by tokens: one per character */
	CU_ASSERT_EQUAL(embed_truncate(e5, 10, 0, 2, &cut), 4);
	/* 4-byte sequences (emoji) never split, for every limit */
	{
		const char *em = "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80";
		for (size_t lim = 1; lim <= 3; lim++) {
			size_t n = embed_truncate(em, 12, lim, 0, &cut);
			CU_ASSERT_EQUAL(n, 4 * lim);
		}
	}
}

static void test_truncate_titan(void)
{
	/* 60,000 bytes of "word " : the token estimate (8192 * 4 = 32768 bytes) binds */
	size_t len = 60000, n;
	char *s = malloc(len);
	int cut;
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (size_t i = 0; i < len; i++)
		s[i] = "word "[i % 5];
	n = embed_truncate(s, len, EMBED_TITAN_MAX_CHARS, EMBED_TITAN_MAX_TOKENS, &cut);
	CU_ASSERT_EQUAL(cut, 1);
	CU_ASSERT(n <= 32768 && n > 32768 - 10);
	CU_ASSERT(embed_tokens_est(s, n) <= EMBED_TITAN_MAX_TOKENS);
	CU_ASSERT_EQUAL(s[n - 1], 'd'); /* ends on a whole word */
	CU_ASSERT(s[n] == ' ');
	/* 60,000 two-byte characters: the character limit would allow 50,000, tokens only 8192 */
	{
		char *u = malloc(120000);
		CU_ASSERT_PTR_NOT_NULL_FATAL(u);
		for (size_t i = 0; i < 120000; i += 2) {
			u[i] = (char)0xc3;
			u[i + 1] = (char)0xa9;
		}
		n = embed_truncate(u, 120000, EMBED_TITAN_MAX_CHARS, EMBED_TITAN_MAX_TOKENS, &cut);
		CU_ASSERT_EQUAL(n, 2 * 8192);
		CU_ASSERT(valid_utf8_prefix((unsigned char *)u, n));
		n = embed_truncate(u, 120000, EMBED_TITAN_MAX_CHARS, 0, &cut);
		CU_ASSERT_EQUAL(n, 2 * 50000);
		free(u);
	}
	free(s);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"hash known vectors", test_hash_known},
		{"hash distinct triples", test_hash_distinct},
		{"hash bad arguments", test_hash_bad_args},
		{"token estimate", test_tokens_est},
		{"truncate: fits", test_truncate_fits},
		{"truncate: word boundary", test_truncate_word},
		{"truncate: UTF-8", test_truncate_utf8},
		{"truncate: Titan limits", test_truncate_titan},
		{NULL, NULL},
	};
	return run_suite("embed_text", tests);
}
