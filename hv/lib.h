/* Freestanding C library subset used by the hv (and by host unit tests,
 * where libc provides the same functions). */
#ifndef HV_LIB_H
#define HV_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)     (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)    (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)  ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a)  (((x) & ((a) - 1)) == 0)
#define MIN(a, b)         ((a) < (b) ? (a) : (b))
#define MAX(a, b)         ((a) > (b) ? (a) : (b))
#define BIT(n)            (1ul << (n))
#define KiB               (1024ul)
#define MiB               (1024ul * KiB)
#define GiB               (1024ul * MiB)
#define PAGE_SIZE         4096ul
#define PAGE_SHIFT        12
#define unlikely(x)       __builtin_expect(!!(x), 0)
#define likely(x)         __builtin_expect(!!(x), 1)

/* A 48-bit canonical address: bits 63:47 all equal (no LA57). */
static inline bool is_canonical48(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Copies at most size-1 bytes and always NUL-terminates. */
void strcpy_bounded(char *dst, const char *src, size_t size);
const void *memchr_local(const void *s, int c, size_t n);

/* Bounded formatting: always NUL-terminates, returns the untruncated length. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses an unsigned number (0x prefix for hex) with an optional K/M/G
 * suffix when `allow_suffix`.  Returns false on junk or overflow. */
bool parse_u64(const char *s, size_t len, uint64_t *out, bool allow_suffix);

#endif
