/* SQL files compiled into the binaries (sql/legacy, sql/target), by path under sql/. */
#ifndef MDW_SQLFILES_H
#define MDW_SQLFILES_H

struct mdw_sql_file {
	const char *path; /* e.g. "target/001_app_tables.sql" */
	const char *text;
};

/* Terminated by an entry whose path is NULL; target files in name order. */
extern const struct mdw_sql_file mdw_sql_files[];

/* The text of the embedded file at PATH (relative to sql/), or NULL. */
const char *mdw_sql_get(const char *path);

#endif
