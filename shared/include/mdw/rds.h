/*
 * Redis connection: URL parsing (redis://[user[:password]@]host[:port][/db]),
 * connect with AUTH and SELECT, commands with automatic reconnect on the
 * next call after an I/O error. Works with hiredis 0.14 and 1.x.
 */
#ifndef MDW_RDS_H
#define MDW_RDS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

struct rds {
	redisContext *c; /* NULL while disconnected */
	char host[256];
	int port;
	char user[128];
	char pass[256];
	int db;
	int timeout_ms;
	char errstr[256]; /* last error, never holding the password */
};

/* Parse URL into R (not connected). -1 with ERR naming what is wrong. */
__attribute__((warn_unused_result)) int rds_parse_url(struct rds *r, const char *url, char *err, size_t errlen);

/* Connect (or reconnect) R. -1 with r->errstr. */
__attribute__((warn_unused_result)) int rds_connect(struct rds *r);

/* Close the connection (R stays configured). */
void rds_close(struct rds *r);

/*
 * Run a command (hiredis format: %s string, %b binary+length). Connects first
 * if needed. Returns the reply (may be REDIS_REPLY_ERROR; caller frees it) or
 * NULL on I/O error, with r->errstr set and the connection dropped.
 */
redisReply *rds_cmd(struct rds *r, const char *fmt, ...);

/* Argv form of rds_cmd. */
redisReply *rds_cmdv(struct rds *r, int argc, const char **argv, const size_t *lens);

/* 1 if REPLY is an error reply starting with PREFIX (e.g. "NOGROUP"). */
int rds_is_error(const redisReply *reply, const char *prefix);

#endif
