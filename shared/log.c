/* Log lines in logfmt or JSON on stderr (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "mdw/log.h"

static const char *log_comp = "mdw";
static enum mdw_log_level log_min = MDW_LOG_INFO;
static int log_json;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void mdw_log_init(const char *component, const char *level, const char *format)
{
	log_comp = component;
	for (int i = 0; i < 4; i++)
		if (level && strcmp(level, level_names[i]) == 0)
			log_min = (enum mdw_log_level)i;
	log_json = format && strcmp(format, "json") == 0;
}

/* logfmt "a=1 b=\"x y\"" to JSON members ,"a":"1","b":"x y" */
static void logfmt_to_json(const char *s, FILE *out)
{
	while (*s) {
		const char *k = s, *eq;
		while (*s == ' ')
			s++;
		k = s;
		eq = strchr(s, '=');
		if (!eq || !*s)
			break;
		fprintf(out, ",\"%.*s\":\"", (int)(eq - k), k);
		s = eq + 1;
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1]) {
					fputc(*s++, out);
					fputc(*s, out);
				} else
					fputc(*s, out);
			}
			if (*s)
				s++;
		} else {
			for (; *s && *s != ' '; s++) {
				if (*s == '"' || *s == '\\')
					fputc('\\', out);
				fputc(*s, out);
			}
		}
		fputc('"', out);
	}
}

void mdw_log_at(enum mdw_log_level lvl, const char *file, int line, const char *fmt, ...)
{
	char ts[40], msg[2048];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	const char *base = strrchr(file, '/');

	if (lvl < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	base = base ? base + 1 : file;
	flockfile(stderr);
	if (log_json) {
		fprintf(stderr, "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"comp\":\"%s\",\"src\":\"%s:%d\"", ts,
			(int)(tv.tv_usec / 1000), level_names[lvl], log_comp, base, line);
		logfmt_to_json(msg, stderr);
		fputs("}\n", stderr);
	} else {
		fprintf(stderr, "ts=%s.%03dZ level=%s comp=%s %s src=%s:%d\n", ts, (int)(tv.tv_usec / 1000),
			level_names[lvl], log_comp, msg, base, line);
	}
	funlockfile(stderr);
}
