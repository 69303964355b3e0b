/* When a throttled embedding request goes again (see retry_hint.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "retry_hint.h"

/* The value of LINE when its name is NAME (case-insensitive), trimmed into VAL; 0 when it is another header. */
static int header_value(const char *line, size_t len, const char *name, char *val, size_t vallen)
{
	size_t n = strlen(name), s, e;

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return 0;
	s = n + 1;
	e = len;
	while (s < e && (line[s] == ' ' || line[s] == '\t'))
		s++;
	while (e > s && (line[e - 1] == '\r' || line[e - 1] == '\n' || line[e - 1] == ' ' || line[e - 1] == '\t'))
		e--;
	if (e - s >= vallen)
		e = s + vallen - 1; /* too long for a number: the parse below refuses what is left */
	memcpy(val, line + s, e - s);
	val[e - s] = 0;
	return 1;
}

enum retry_hint retry_hint_parse(const char *line, size_t len, long *ms)
{
	char v[32], *end;

	if (header_value(line, len, "x-amz-retry-after", v, sizeof v)) {
		long long n;
		if (!v[0] || strspn(v, "0123456789") != strlen(v) || strlen(v) > 12)
			return RETRY_HINT_NONE;
		n = strtoll(v, NULL, 10);
		*ms = (long)n;
		return RETRY_HINT_AMZ_MS;
	}
	if (header_value(line, len, "retry-after", v, sizeof v)) {
		double d;
		if (!v[0] || strspn(v, "0123456789.") != strlen(v))
			return RETRY_HINT_NONE;
		d = strtod(v, &end);
		if (*end || !isfinite(d) || d < 0 || d > 1e9)
			return RETRY_HINT_NONE;
		*ms = (long)ceil(d * 1000);
		return RETRY_HINT_SECONDS;
	}
	return RETRY_HINT_NONE;
}

long retry_throttled_ms(long hint_ms, int throttles, unsigned *seed)
{
	long d = RETRY_BASE_MS;

	if (hint_ms >= 0)
		return hint_ms < RETRY_HINT_MAX_MS ? hint_ms : RETRY_HINT_MAX_MS;
	for (int k = 1; k < throttles && d < RETRY_CAP_MS; k++)
		d *= 2;
	if (d > RETRY_CAP_MS)
		d = RETRY_CAP_MS;
	return d / 2 + (long)((double)rand_r(seed) / ((double)RAND_MAX + 1) * (double)(d - d / 2 + 1));
}
