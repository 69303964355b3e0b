/* CUnit: the offline embedding provider: deterministic, unit norm, finite, sensitive to the words. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "mdw/embed_local.h"

static double norm(const float *v)
{
	double s = 0;
	for (int i = 0; i < EMBED_LOCAL_DIMS; i++)
		s += (double)v[i] * v[i];
	return sqrt(s);
}

static double dot(const float *a, const float *b)
{
	double s = 0;
	for (int i = 0; i < EMBED_LOCAL_DIMS; i++)
		s += (double)a[i] * b[i];
	return s;
}

static int all_finite(const float *v)
{
	for (int i = 0; i < EMBED_LOCAL_DIMS; i++)
		if (!isfinite(v[i]))
			return 0;
	return 1;
}

static void emb(const char *s, float *out, int *tokens)
{
	CU_ASSERT_EQUAL_FATAL(embed_local(s, strlen(s), out, tokens), 0);
}

static void test_deterministic(void)
{
	static float a[EMBED_LOCAL_DIMS], b[EMBED_LOCAL_DIMS];
	int ta, tb;
	const char *t = "Patient reports chest pain after exercise; ECG normal.";
	emb(t, a, &ta);
	emb(t, b, &tb);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
	CU_ASSERT_EQUAL(ta, 8);
	CU_ASSERT_EQUAL(ta, tb);
	/* case and punctuation do not matter, word order does (bigrams) */
	emb("patient REPORTS chest-pain after exercise ecg normal", b, NULL);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
}

static void test_known_feature(void)
{
	/* One word: one feature, at dimension fnv1a64("a") & 1023 with the sign of bit 63.
	 * fnv1a64("a") = 0xaf63dc4c8601ec8c: dimension 0x08c = 140, bit 63 set: -1. */
	static float v[EMBED_LOCAL_DIMS];
	int t;
	emb("A", v, &t);
	CU_ASSERT_EQUAL(t, 1);
	CU_ASSERT_DOUBLE_EQUAL(v[140], -1.0, 1e-7);
	CU_ASSERT_DOUBLE_EQUAL(norm(v), 1.0, 1e-7);
}

static void test_unit_norm(void)
{
	static float v[EMBED_LOCAL_DIMS];
	const char *texts[] = {"x", "one two", "the the the the the", "Ça va très bien, merci ; 日本語のテキスト",
			       "a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9"};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		emb(texts[i], v, NULL);
		CU_ASSERT_DOUBLE_EQUAL(norm(v), 1.0, 1e-5);
		CU_ASSERT(all_finite(v));
	}
	/* a long text */
	{
		size_t n = 200000;
		char *s = malloc(n + 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		for (size_t i = 0; i < n; i++)
			s[i] = "lorem ipsum dolor sit amet consectetur "[i % 39];
		s[n] = 0;
		emb(s, v, NULL);
		CU_ASSERT_DOUBLE_EQUAL(norm(v), 1.0, 1e-5);
		free(s);
	}
}

static void test_empty(void)
{
	static float v[EMBED_LOCAL_DIMS];
	int t = -1;
	CU_ASSERT_EQUAL(embed_local(NULL, 0, v, &t), 0);
	CU_ASSERT_EQUAL(t, 0);
	CU_ASSERT_EQUAL(v[0], 1.0f);
	CU_ASSERT_DOUBLE_EQUAL(norm(v), 1.0, 1e-7);
	emb("  ...  !!! ", v, &t);
	CU_ASSERT_EQUAL(t, 0);
	CU_ASSERT_EQUAL(v[0], 1.0f);
	CU_ASSERT_EQUAL(embed_local(NULL, 3, v, &t), -1);
	CU_ASSERT_EQUAL(embed_local("x", 1, NULL, &t), -1);
}

static void test_different(void)
{
	static float a[EMBED_LOCAL_DIMS], b[EMBED_LOCAL_DIMS], c[EMBED_LOCAL_DIMS];
	emb("diabetes type two with insulin therapy", a, NULL);
	emb("fractured left wrist after a fall", b, NULL);
	emb("diabetes type two with oral therapy", c, NULL);
	CU_ASSERT(memcmp(a, b, sizeof a) != 0);
	/* similar texts are closer than unrelated ones */
	CU_ASSERT(dot(a, c) > dot(a, b));
	CU_ASSERT(dot(a, c) < 0.999);
	/* word order changes the bigrams */
	emb("therapy insulin with two type diabetes", b, NULL);
	CU_ASSERT(memcmp(a, b, sizeof a) != 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"deterministic", test_deterministic},      {"known feature", test_known_feature},
		{"unit norm, finite", test_unit_norm},      {"empty text", test_empty},
		{"different texts differ", test_different}, {NULL, NULL},
	};
	return run_suite("embed_local", tests);
}
