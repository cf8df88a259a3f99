/* Pure string helpers shared by the command-line and module-option parsers
 * (no asm: the host unit tests link this file too). */
#include "lib.h"

bool parse_u64(const char *s, size_t len, uint64_t *out, bool allow_suffix)
{
    uint64_t v = 0, base = 10, mult = 1;
    size_t i = 0;

    if (len == 0)
        return false;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (allow_suffix && base == 10) {
        switch (s[len - 1]) {
        case 'k': case 'K': mult = KiB; len--; break;
        case 'm': case 'M': mult = MiB; len--; break;
        case 'g': case 'G': mult = GiB; len--; break;
        }
    }
    if (i >= len)
        return false;
    for (; i < len; i++) {
        char c = s[i];
        uint64_t d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    if (mult != 1 && v > UINT64_MAX / mult)
        return false;
    *out = v * mult;
    return true;
}

void strcpy_bounded(char *dst, const char *src, size_t size)
{
    if (size == 0)
        return;
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

const void *memchr_local(const void *s, int c, size_t n)
{
    const uint8_t *p = s;
    for (size_t i = 0; i < n; i++)
        if (p[i] == (uint8_t)c)
            return p + i;
    return NULL;
}
