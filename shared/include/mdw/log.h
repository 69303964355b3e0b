/*
 * Logging: one line per event, logfmt (default) or JSON, with time, level,
 * component and the caller's key=value fields. Ids and counts only: never
 * row content (names, emails, notes, birth dates), never secrets.
 *
 *   mdw_info("phase=%s chunk=%d rows=%d msg=\"chunk done\"", ...);
 *
 * The format string holds logfmt fields; in JSON mode they are converted.
 */
#ifndef MDW_LOG_H
#define MDW_LOG_H

enum mdw_log_level { MDW_LOG_DEBUG, MDW_LOG_INFO, MDW_LOG_WARN, MDW_LOG_ERROR };

/* COMPONENT names the program ("coordinator", "worker", "mdwctl"). */
void mdw_log_init(const char *component, const char *level, const char *format);

void mdw_log_at(enum mdw_log_level lvl, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define mdw_debug(...) mdw_log_at(MDW_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define mdw_info(...) mdw_log_at(MDW_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define mdw_warn(...) mdw_log_at(MDW_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define mdw_error(...) mdw_log_at(MDW_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)

#endif
