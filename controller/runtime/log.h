/* One line per event, logfmt by default or JSON, with level, component and free fields. */
#ifndef AURIGA_LOG_H
#define AURIGA_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_LOGFMT, LOG_JSON };

void log_setup(enum log_level min, enum log_format fmt);
int log_level_parse(const char *s, enum log_level *out);
/*
 * Logs msg from component with key/value pairs: the variadic list is
 * NULL-terminated pairs of const char * ("deployment", name, ..., NULL).
 * Values are quoted and escaped as the format needs.
 */
void log_event(enum log_level lvl, const char *component, const char *msg, ...);
/* Ends the key/value list with a typed null pointer, as variadic functions need. */
#define LOG_END ((const char *)0)

#define log_debug(c, m, ...) log_event(LOG_DEBUG, c, m, __VA_ARGS__)
#define log_info(c, m, ...) log_event(LOG_INFO, c, m, __VA_ARGS__)
#define log_warn(c, m, ...) log_event(LOG_WARN, c, m, __VA_ARGS__)
#define log_error(c, m, ...) log_event(LOG_ERROR, c, m, __VA_ARGS__)

#endif
