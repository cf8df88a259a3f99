/* The hv console: COM1 at 115200 8N1, with log levels.  Every hv line is
 * prefixed "[hv] "; domain output is prefixed "[dN] " (see dom_console.c). */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include "lib.h"

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int hv_loglvl;

void console_init(void);
/* Writes raw bytes (no prefix); "\n" becomes "\r\n" on the wire. */
void console_write(const char *s, size_t n);
/* Formats one line with the "[hv] " prefix (and "error: "/"warning: "). */
void hv_log(int lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Formats one line with a caller-supplied prefix, e.g. "[d3] ". */
void console_line(const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Waits until every byte has left the UART. */
void console_flush(void);
/* Copies the newest bytes of the console history into buf (dom0 reads). */
size_t console_history(char *buf, size_t size);

#define hv_err(...)   hv_log(LOG_ERR, __VA_ARGS__)
#define hv_warn(...)  hv_log(LOG_WARN, __VA_ARGS__)
#define hv_info(...)  hv_log(LOG_INFO, __VA_ARGS__)
#define hv_debug(...) do { if (hv_loglvl >= LOG_DEBUG) hv_log(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
