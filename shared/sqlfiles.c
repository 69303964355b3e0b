/* Lookup of the SQL files embedded at build time (see cmake/embed_sql.cmake). */
#include <string.h>

#include "mdw/sqlfiles.h"

const char *mdw_sql_get(const char *path)
{
	for (const struct mdw_sql_file *f = mdw_sql_files; f->path; f++)
		if (strcmp(f->path, path) == 0)
			return f->text;
	return NULL;
}
