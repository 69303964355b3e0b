/*
 * The AWS credential chain (see aws_creds.h): environment, then the shared
 * credentials file. Each source that gives nothing adds a short reason to
 * the final message; values are copied, checked and wiped, never printed.
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mdw/aws_creds.h"

void aws_creds_clear(struct sigv4_creds *c)
{
	if (c)
		OPENSSL_cleanse(c, sizeof *c);
}

/* Copy credential value V (named NAME, from WHERE) into DST; refuse over-long or malformed values. */
static int put(char *dst, size_t size, const char *v, const char *name, const char *where, char *err, size_t errlen)
{
	size_t n = strlen(v);
	if (n >= size) {
		snprintf(err, errlen, "%s from %s is too long (%zu bytes, at most %zu)", name, where, n, size - 1);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f) {
			snprintf(err, errlen, "%s from %s contains spaces or control characters", name, where);
			return -1;
		}
	}
	memcpy(dst, v, n + 1);
	return 0;
}

static int env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

/* 1 loaded, 0 nothing there (WHY says why), -1 error. */
static int from_env(struct sigv4_creds *out, char *why, size_t whylen, char *err, size_t errlen)
{
	if (!env_set("AWS_ACCESS_KEY_ID")) {
		snprintf(why, whylen, "AWS_ACCESS_KEY_ID unset");
		return 0;
	}
	if (!env_set("AWS_SECRET_ACCESS_KEY")) {
		snprintf(why, whylen, "AWS_SECRET_ACCESS_KEY unset");
		return 0;
	}
	if (put(out->access_key, sizeof out->access_key, getenv("AWS_ACCESS_KEY_ID"), "AWS_ACCESS_KEY_ID",
		"the environment", err, errlen) < 0 ||
	    put(out->secret_key, sizeof out->secret_key, getenv("AWS_SECRET_ACCESS_KEY"), "AWS_SECRET_ACCESS_KEY",
		"the environment", err, errlen) < 0 ||
	    (env_set("AWS_SESSION_TOKEN") &&
	     put(out->session_token, sizeof out->session_token, getenv("AWS_SESSION_TOKEN"), "AWS_SESSION_TOKEN",
		 "the environment", err, errlen) < 0))
		return -1;
	return 1;
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* The credentials file path into PATH; 0, or -1 when no home directory is known. */
static int creds_path(char *path, size_t len)
{
	const char *f = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
	if ((!home || !*home) && (!f || !*f || !strncmp(f, "~/", 2))) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (f && *f) {
		if (!strncmp(f, "~/", 2) && home)
			snprintf(path, len, "%s%s", home, f + 1);
		else
			snprintf(path, len, "%s", f);
		return 0;
	}
	if (!home || !*home)
		return -1;
	snprintf(path, len, "%s/.aws/credentials", home);
	return 0;
}

/*
 * Read section PROFILE of the INI file FP. Keys are matched without regard
 * to case (as botocore does); indented lines continue a value and are
 * skipped; '#' and ';' start comment lines. 1 loaded, 0 not there, -1 error.
 */
static int parse_file(FILE *fp, const char *path, const char *profile, struct sigv4_creds *out, char *why,
		      size_t whylen, char *err, size_t errlen)
{
	char line[8192], where[600];
	int in = 0, found = 0, lineno = 0, rc = -1;

	snprintf(where, sizeof where, "profile %s in %s", profile, path);
	while (fgets(line, sizeof line, fp)) {
		char *s, *eq, *k, *v;
		lineno++;
		if (!strchr(line, '\n') && !feof(fp)) {
			snprintf(err, errlen, "%s: line %d is too long (at most %zu bytes)", path, lineno,
				 sizeof line - 2);
			goto done;
		}
		if (line[0] == ' ' || line[0] == '\t')
			continue;
		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strrchr(s, ']');
			if (e) {
				*e = '\0';
				in = !strcmp(trim(s + 1), profile);
				found |= in;
			} else {
				in = 0;
			}
			continue;
		}
		if (!in || !(eq = strchr(s, '=')))
			continue;
		*eq = '\0';
		k = trim(s);
		v = trim(eq + 1);
		if (!*v)
			continue;
		if (!strcasecmp(k, "aws_access_key_id")) {
			if (put(out->access_key, sizeof out->access_key, v, k, where, err, errlen) < 0)
				goto done;
		} else if (!strcasecmp(k, "aws_secret_access_key")) {
			if (put(out->secret_key, sizeof out->secret_key, v, k, where, err, errlen) < 0)
				goto done;
		} else if (!strcasecmp(k, "aws_session_token")) {
			if (put(out->session_token, sizeof out->session_token, v, k, where, err, errlen) < 0)
				goto done;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto done;
	}
	if (!found) {
		snprintf(why, whylen, "no [%s] section", profile);
		rc = 0;
	} else if (!out->access_key[0] || !out->secret_key[0]) {
		snprintf(why, whylen, "profile %s lacks %s", profile,
			 !out->access_key[0] ? "aws_access_key_id" : "aws_secret_access_key");
		rc = 0;
	} else {
		rc = 1;
	}
done:
	OPENSSL_cleanse(line, sizeof line);
	return rc;
}

int aws_creds_load_src(struct sigv4_creds *out, char *src, size_t srclen, char *err, size_t errlen)
{
	char why_env[64] = "", why_file[600] = "", path[4096];
	const char *profile = env_set("AWS_PROFILE") ? getenv("AWS_PROFILE") : "default";
	FILE *fp;
	int r;

	memset(out, 0, sizeof *out);
	r = from_env(out, why_env, sizeof why_env, err, errlen);
	if (r < 0)
		goto fail;
	if (r > 0) {
		if (src)
			snprintf(src, srclen, "environment");
		return 0;
	}
	aws_creds_clear(out);

	if (creds_path(path, sizeof path) < 0) {
		snprintf(path, sizeof path, "~/.aws/credentials");
		snprintf(why_file, sizeof why_file, "HOME unset");
	} else if (!(fp = fopen(path, "r"))) {
		snprintf(why_file, sizeof why_file, "%s", errno == ENOENT ? "not found" : strerror(errno));
	} else {
		r = parse_file(fp, path, profile, out, why_file, sizeof why_file, err, errlen);
		fclose(fp);
		if (r < 0)
			goto fail;
		if (r > 0) {
			if (src)
				snprintf(src, srclen, "profile %s in %s", profile, path);
			return 0;
		}
	}
	snprintf(err, errlen,
		 "no AWS credentials: tried environment (%s), shared credentials file %s (%s), profile %s; "
		 "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE / AWS_SHARED_CREDENTIALS_FILE",
		 why_env, path, why_file, profile);
fail:
	aws_creds_clear(out);
	return -1;
}

int aws_creds_load(struct sigv4_creds *out, char *err, size_t errlen)
{
	return aws_creds_load_src(out, NULL, 0, err, errlen);
}
