/* Per-domain console lines, so interleaved domains stay readable. */
#include "vdev.h"
#include "console.h"

static void flush_line(struct domain *d)
{
    console_line("", "[d%u] %.*s", d->id, (int)d->uart_len, d->uart_line);
    d->uart_len = 0;
}

void dom_console_putc(struct domain *d, char c)
{
    if (c == '\n') {
        flush_line(d);
        return;
    }
    if (c == '\r')
        return;
    /* Control and non-ASCII bytes would corrupt the host's log parsing. */
    if (((uint8_t)c < 0x20 && c != '\t') || (uint8_t)c >= 0x7f)
        c = '?';
    d->uart_line[d->uart_len++] = c;
    if (d->uart_len == sizeof(d->uart_line))
        flush_line(d);
}

void dom_console_write(struct domain *d, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dom_console_putc(d, s[i]);
}
