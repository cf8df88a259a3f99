/* Parses a boot module's command line into a domain configuration. */
#include "domcfg.h"

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static size_t word_len(const char *p)
{
    size_t n = 0;
    while (p[n] && p[n] != ' ' && p[n] != '\t')
        n++;
    return n;
}

static bool word_is(const char *w, size_t n, const char *s)
{
    return strlen(s) == n && !strncmp(w, s, n);
}

static int parse_kind(const char *w, size_t n, struct domcfg *c)
{
    static const struct { const char *name; enum dom_kind kind; } kinds[] = {
        { "elf", KIND_ELF }, { "mb1", KIND_MB1 }, { "mb2", KIND_MB2 }, { "mod", KIND_MOD },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (word_is(w, n, kinds[i].name)) {
            c->kind = kinds[i].kind;
            return 0;
        }
    }
    return -1;
}

static int parse_option(const char *w, size_t n, struct domcfg *c, char *err, size_t errlen)
{
    const char *eq = memchr_local(w, '=', n);
    size_t klen = eq ? (size_t)(eq - w) : n;
    const char *val = eq ? eq + 1 : NULL;
    size_t vlen = eq ? n - klen - 1 : 0;

    if (word_is(w, klen, "priv") && !eq) {
        c->priv = true;
    } else if (word_is(w, klen, "name") && eq) {
        if (vlen == 0 || vlen >= DOMCFG_NAME_MAX) {
            snprintf(err, errlen, "name must be 1-%d characters", DOMCFG_NAME_MAX - 1);
            return -1;
        }
        memcpy(c->name, val, vlen);
        c->name[vlen] = '\0';
    } else if (word_is(w, klen, "mem") && eq) {
        uint64_t m;
        if (!parse_u64(val, vlen, &m, true) || m < DOMCFG_MEM_MIN || m > DOMCFG_MEM_MAX) {
            snprintf(err, errlen, "mem=%.*s: need a size from 4M to 2G", (int)vlen, val);
            return -1;
        }
        c->mem = ALIGN_UP(m, 2 * MiB);
    } else if (word_is(w, klen, "debug") && eq) {
        if (word_is(val, vlen, "bad-guest-state"))
            c->debug = DEBUG_BAD_GUEST_STATE;
        else if (word_is(val, vlen, "bad-controls"))
            c->debug = DEBUG_BAD_CONTROLS;
        else {
            snprintf(err, errlen, "unknown debug knob '%.*s'", (int)vlen, val);
            return -1;
        }
    } else if (word_is(w, klen, "logdirty") && eq) {
        if (word_is(val, vlen, "pml"))
            c->logdirty = LOGDIRTY_PML;
        else if (word_is(val, vlen, "wp"))
            c->logdirty = LOGDIRTY_WP;
        else {
            snprintf(err, errlen, "logdirty=%.*s: want pml or wp", (int)vlen, val);
            return -1;
        }
    } else if ((word_is(w, klen, "nested") || word_is(w, klen, "vmcs_shadowing")) && eq) {
        bool on;
        if (word_is(val, vlen, "1"))
            on = true;
        else if (word_is(val, vlen, "0"))
            on = false;
        else {
            snprintf(err, errlen, "%.*s=%.*s: want 0 or 1", (int)klen, w, (int)vlen, val);
            return -1;
        }
        if (word_is(w, klen, "nested"))
            c->nested = on;
        else
            c->no_vmcs_shadowing = !on;
    } else {
        snprintf(err, errlen, "unknown option '%.*s'", (int)n, w);
        return -1;
    }
    return 0;
}

int domcfg_parse(const char *cmdline, struct domcfg *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->mem = DOMCFG_MEM_DEFAULT;
    strcpy_bounded(c->name, "domain", sizeof(c->name));

    const char *p = skip_spaces(cmdline);
    size_t n = word_len(p);
    if (n == 0 || parse_kind(p, n, c)) {
        snprintf(err, errlen, "unknown kind '%.*s' (want elf, mb1, mb2 or mod)", (int)n, p);
        return -1;
    }
    if (c->kind == KIND_MOD)
        return 0;   /* the rest is the module's own command line */
    for (p = skip_spaces(p + n); *p; p = skip_spaces(p + n)) {
        n = word_len(p);
        if (word_is(p, n, "--")) {
            const char *a = skip_spaces(p + n);
            if (strlen(a) >= DOMCFG_ARGS_MAX) {
                snprintf(err, errlen, "guest arguments longer than %d bytes", DOMCFG_ARGS_MAX - 1);
                return -1;
            }
            strcpy_bounded(c->args, a, sizeof(c->args));
            break;
        }
        if (parse_option(p, n, c, err, errlen))
            return -1;
    }
    return 0;
}
