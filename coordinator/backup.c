/* Backups before a phase writes (see backup.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup.h"
#include "lock.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "rollback.h"

extern char **environ;

void backup_file_name(enum mdw_phase_id phase, char *buf, size_t len)
{
	snprintf(buf, len, "%02d-%s.dump", (int)phase, mdw_phases[phase].name);
}

void backup_env_free(char **env)
{
	if (!env)
		return;
	for (char **e = env; *e; e++)
		free(*e);
	free(env);
}

char **backup_env(const char *dsn, char *const *envp, char *err, size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(dsn ? dsn : "", &perr);
	size_t n = 0, k = 0, nopts = 0;
	char **env = NULL;

	if (!opts) {
		/* libpq's message may quote the DSN: keep only that it failed */
		snprintf(err, errlen, "the target DSN does not parse as a libpq connection string");
		PQfreemem(perr);
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		nopts++;
	while (envp && envp[n])
		n++;
	if (!(env = calloc(n + nopts + 1, sizeof *env)))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(envp[i], '=');
		size_t nl = eq ? (size_t)(eq - envp[i]) : strlen(envp[i]);
		int replaced = 0;
		for (PQconninfoOption *o = opts; o->keyword && !replaced; o++)
			replaced = o->envvar && o->val && o->val[0] && strlen(o->envvar) == nl &&
				   !strncmp(o->envvar, envp[i], nl);
		if (replaced)
			continue;
		if (!(env[k++] = strdup(envp[i])))
			goto oom;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		size_t l;
		if (!o->envvar || !o->val || !o->val[0])
			continue; /* settings without a variable (keepalives...) do not matter to a dump */
		l = strlen(o->envvar) + strlen(o->val) + 2;
		if (!(env[k] = malloc(l)))
			goto oom;
		snprintf(env[k++], l, "%s=%s", o->envvar, o->val);
	}
	PQconninfoFree(opts);
	return env;
oom:
	PQconninfoFree(opts);
	backup_env_free(env);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/* mkdir -p PATH (mode 0700 for what it creates). */
static int mkdirs(const char *path, char *err, size_t errlen)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof buf) {
		snprintf(err, errlen, "backup directory path too long");
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
				snprintf(err, errlen, "cannot create %s: %s", buf, strerror(errno));
				return -1;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* PROG as a path: itself when it has a '/', else the first executable of that name in PATH. */
static int find_program(const char *prog, char *out, size_t outlen)
{
	const char *path = getenv("PATH");

	if (strchr(prog, '/')) {
		snprintf(out, outlen, "%s", prog);
		return access(out, X_OK);
	}
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		const char *colon = strchr(p, ':');
		size_t l = colon ? (size_t)(colon - p) : strlen(p);
		snprintf(out, outlen, "%.*s/%s", (int)l, l ? p : ".", prog);
		if (access(out, X_OK) == 0)
			return 0;
		p += l + (colon ? 1 : 0);
	}
	return -1;
}

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/*
 * Run PATH with ARGV and ENV; wait, refreshing the coordinator's lock. Its
 * stderr's last line goes to ERR on failure.
 */
static int run_dump(struct coord *c, const char *path, char *const *argv, char *const *env, char *err, size_t errlen)
{
	char tail[512] = "", holder[256];
	size_t tl = 0;
	int fds[2], status = 0, eof = 0;
	double last_refresh = now_s();
	pid_t pid;

	if (pipe(fds) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* the child: only async-signal-safe calls until exec */
		int devnull = open("/dev/null", O_RDWR);
		umask(077); /* the dump holds patient data: owner only */
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execve(path, argv, env);
		_exit(127);
	}
	close(fds[1]);
	while (!eof) {
		struct pollfd pfd = {fds[0], POLLIN, 0};
		int pr = poll(&pfd, 1, 1000);
		if (pr > 0) {
			char buf[512];
			ssize_t n = read(fds[0], buf, sizeof buf);
			if (n <= 0 && !(n < 0 && errno == EINTR)) {
				eof = 1;
			} else if (n > 0) {
				/* keep the last bytes: the error is at the end */
				for (ssize_t i = 0; i < n; i++) {
					if (tl == sizeof tail - 1) {
						memmove(tail, tail + 1, tl - 1);
						tl--;
					}
					tail[tl++] = buf[i];
				}
				tail[tl] = 0;
			}
		}
		if (now_s() - last_refresh > 2.0) {
			last_refresh = now_s();
			if (lock_refresh(&c->r, c->token, holder, sizeof holder) == 1) {
				kill(pid, SIGTERM);
				snprintf(err, errlen, "lost the coordinator lock to %s during the dump", holder);
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
					;
				close(fds[0]);
				return -1;
			}
		}
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	while (tl > 0 && (tail[tl - 1] == '\n' || tail[tl - 1] == '\r'))
		tail[--tl] = 0;
	{
		char *line = strrchr(tail, '\n');
		line = line ? line + 1 : tail;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !*line)
			snprintf(err, errlen, "cannot execute %s", path);
		else if (WIFEXITED(status))
			snprintf(err, errlen, "%s exited with status %d: %s", path, WEXITSTATUS(status), line);
		else
			snprintf(err, errlen, "%s was killed by signal %d", path,
				 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	return -1;
}

int backup_phase(struct coord *c, enum mdw_phase_id phase, char *err, size_t errlen)
{
	const char *const *tables = mdw_phases[phase].writes;
	char dir[4096], file[64], final[4200], partial[4300], prog[4096], targs[3][300], tarr[256], e[512];
	char fmt[] = "--format=custom", nopw[] = "--no-password", lockwait[] = "--lock-wait-timeout=60000";
	char fileopt[4320];
	char *argv[10];
	char **env = NULL;
	size_t ta = 0;
	int argc = 0, nt = 0, rc = -1;
	double t0 = now_s();
	struct stat st;

	if (!c->cfg.backup_dir || !c->cfg.backup_dir[0])
		return 0;
	snprintf(dir, sizeof dir, "%s/%" PRId64, c->cfg.backup_dir, c->run);
	backup_file_name(phase, file, sizeof file);
	snprintf(final, sizeof final, "%s/%s", dir, file);
	snprintf(partial, sizeof partial, "%s.partial", final);
	if (mkdirs(dir, err, errlen) < 0)
		return -1;
	if (find_program(c->cfg.pg_dump, prog, sizeof prog) < 0) {
		snprintf(err, errlen,
			 "cannot find an executable pg_dump (\"%s\") (hint: install the PostgreSQL client, or set "
			 "MDW_PG_DUMP to its path)",
			 c->cfg.pg_dump);
		return -1;
	}
	ta += (size_t)snprintf(tarr, sizeof tarr, "{");
	for (nt = 0; tables[nt]; nt++) {
		const char *p[1] = {tables[nt]};
		PGresult *r =
			pgx_query(c->tgt,
				  "SELECT quote_ident(n.nspname) || '.' || quote_ident(t.relname) FROM pg_class t "
				  "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE t.oid = to_regclass('public.' || $1)",
				  1, p, e, sizeof e, NULL);
		if (!r || PQntuples(r) != 1) {
			snprintf(err, errlen, "cannot find table %s in the target%s%s", tables[nt], r ? "" : ": ",
				 r ? "" : e);
			PQclear(r);
			return -1;
		}
		snprintf(targs[nt], sizeof targs[nt], "--table=%s", PQgetvalue(r, 0, 0));
		ta += (size_t)snprintf(tarr + ta, sizeof tarr - ta, "%s%s", nt ? "," : "", tables[nt]);
		PQclear(r);
	}
	snprintf(tarr + ta, sizeof tarr - ta, "}");
	{
		snprintf(fileopt, sizeof fileopt, "--file=%s", partial);
		argv[argc++] = prog;
		argv[argc++] = fmt;
		argv[argc++] = nopw;
		argv[argc++] = lockwait;
		argv[argc++] = fileopt;
		for (int i = 0; i < nt; i++)
			argv[argc++] = targs[i];
		argv[argc] = NULL;
	}
	if (!(env = backup_env(c->cfg.target_dsn, environ, err, errlen)))
		return -1;
	unlink(partial);
	if (run_dump(c, prog, argv, env, err, errlen) < 0) {
		unlink(partial);
		goto out;
	}
	if (rename(partial, final) < 0 || stat(final, &st) < 0) {
		snprintf(err, errlen, "cannot rename the dump to %s: %s", final, strerror(errno));
		unlink(partial);
		goto out;
	}
	{
		char run[24], bytes[24];
		const char *p[5] = {run, mdw_phases[phase].name, final, bytes, tarr};
		snprintf(run, sizeof run, "%" PRId64, c->run);
		snprintf(bytes, sizeof bytes, "%lld", (long long)st.st_size);
		if (pgx_exec(c->tgt,
			     "INSERT INTO mdw.backups (run_id, phase, path, bytes, tables) VALUES ($1, $2, $3, $4, $5) "
			     "ON CONFLICT (run_id, phase) DO UPDATE SET path = EXCLUDED.path, bytes = EXCLUDED.bytes, "
			     "tables = EXCLUDED.tables, created_at = now()",
			     5, p, e, sizeof e, NULL) < 0) {
			snprintf(err, errlen, "cannot record the backup: %s", e);
			goto out;
		}
	}
	mdw_info("run=%" PRId64 " phase=%s msg=\"phase backed up\" path=\"%s\" bytes=%lld ms=%.0f", c->run,
		 mdw_phases[phase].name, final, (long long)st.st_size, (now_s() - t0) * 1000);
	rc = 0;
out:
	backup_env_free(env);
	return rc;
}
