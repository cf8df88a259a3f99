/* COM1 console with a history ring (readable by dom0 via console_io). */
#include "console.h"
#include "x86.h"

#define COM1        0x3f8
#define UART_THR    0
#define UART_IER    1
#define UART_FCR    2
#define UART_LCR    3
#define UART_MCR    4
#define UART_LSR    5
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define HISTORY     16384

int hv_loglvl = LOG_INFO;

static char history[HISTORY];
static size_t history_head;     /* total bytes ever written */

void console_init(void)
{
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, 0x80);            /* DLAB: set divisor */
    outb(COM1 + 0, 1);                      /* 115200 baud */
    outb(COM1 + 1, 0);
    outb(COM1 + UART_LCR, 0x03);            /* 8N1 */
    outb(COM1 + UART_FCR, 0x07);
    outb(COM1 + UART_MCR, 0x03);
}

static void serial_putc(char c)
{
    for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
        cpu_relax();
    outb(COM1 + UART_THR, (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            serial_putc('\r');
        serial_putc(s[i]);
        history[history_head++ % HISTORY] = s[i];
    }
}

void console_flush(void)
{
    /* THRE only says the holding register is free; TEMT says the last byte
     * left the shift register, so nothing is lost if the machine stops. */
    for (int i = 0; i < 1000000 && !(inb(COM1 + UART_LSR) & LSR_TEMT); i++)
        cpu_relax();
}

size_t console_history(char *buf, size_t size)
{
    size_t avail = MIN(history_head, (size_t)HISTORY);
    size_t n = MIN(avail, size);
    size_t start = history_head - n;
    for (size_t i = 0; i < n; i++)
        buf[i] = history[(start + i) % HISTORY];
    return n;
}

static void vline(const char *prefix, const char *fmt, va_list ap)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "%s", prefix);
    n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    if (n > (int)sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    console_write(buf, n);
}

void hv_log(int lvl, const char *fmt, ...)
{
    static const char *const prefix[] = {
        [LOG_ERR] = "[hv] error: ", [LOG_WARN] = "[hv] warning: ",
        [LOG_INFO] = "[hv] ", [LOG_DEBUG] = "[hv] debug: ",
    };
    if (lvl > hv_loglvl)
        return;
    va_list ap;
    va_start(ap, fmt);
    vline(prefix[lvl], fmt, ap);
    va_end(ap);
}

void console_line(const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(prefix, fmt, ap);
    va_end(ap);
}
