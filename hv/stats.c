/* Exit statistics output: one JSON line per domain, and the hypercall view. */
#include "stats.h"
#include "console.h"

struct jbuf {
    char *p;
    size_t size, len;
};

static void jprintf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jprintf(struct jbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (b->len < b->size)
        b->len += vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
    va_end(ap);
}

/* Escapes a string for JSON (names and results are short ASCII). */
static void jstring(struct jbuf *b, const char *s)
{
    jprintf(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            jprintf(b, "\\%c", *s);
        else if ((uint8_t)*s < 0x20 || (uint8_t)*s > 0x7e)
            jprintf(b, "\\u%04x", (uint8_t)*s);
        else
            jprintf(b, "%c", *s);
    }
    jprintf(b, "\"");
}

/* Exit amplification (nested/): per L2 exit reason, what it cost. */
static void nested_json(struct jbuf *b, const struct vcpu *v)
{
    const struct nested_acct *a = &v->nested.acct;
    const struct dom_nested *dn = &v->dom->nested;
    jprintf(b, ",\"nested\":{\"ept02_fills\":%lu,\"ept02_flushes\":%lu,\"l2_exits\":{",
            dn->ept02_fills, dn->ept02_flushes);
    bool first = true;
    for (unsigned r = 0; r < NESTED_ACCT_REASONS; r++) {
        const struct nested_acct_row *w = &a->row[r];
        if (!w->l2_exits)
            continue;
        jprintf(b, "%s\"%s\":{\"count\":%lu,\"reflected\":%lu,\"l0_exits\":%lu,"
                "\"l0_cycles\":%lu,\"l1_cycles\":%lu}", first ? "" : ",", exit_reason_name(r),
                w->l2_exits, w->reflected, w->l0_exits, w->l0_cycles, w->l1_cycles);
        first = false;
    }
    jprintf(b, "}}");
}

static void vcpu_json(struct jbuf *b, const struct vcpu *v)
{
    uint64_t total = 0, cycles = 0;
    for (unsigned r = 0; r < NESTOR_NR_EXIT_REASONS; r++) {
        total += v->exits[r].count;
        cycles += v->exits[r].cycles;
    }
    jprintf(b, "{\"vcpu\":%u,\"total_exits\":%lu,\"total_cycles\":%lu,\"exits\":{",
            v->id, total, cycles);
    bool first = true;
    for (unsigned r = 0; r < NESTOR_NR_EXIT_REASONS; r++) {
        if (!v->exits[r].count)
            continue;
        jprintf(b, "%s\"%s\":{\"count\":%lu,\"cycles\":%lu}", first ? "" : ",",
                exit_reason_name(r), v->exits[r].count, v->exits[r].cycles);
        first = false;
    }
    jprintf(b, "}");
    if (v->dom->cfg.nested)
        nested_json(b, v);
    jprintf(b, "}");
}

void stats_print_domain(const struct domain *d)
{
    static char buf[16384];
    struct jbuf b = { buf, sizeof(buf), 0 };
    char result[200];

    domain_result(d, result, sizeof(result));
    jprintf(&b, "[hv] stats {\"domid\":%u,\"name\":", d->id);
    jstring(&b, d->cfg.name);
    jprintf(&b, ",\"result\":");
    jstring(&b, result);
    jprintf(&b, ",\"ok\":%s,\"mem_mib\":%lu,\"vcpus\":[", domain_ok(d) ? "true" : "false",
            d->mem_bytes / MiB);
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        if (i)
            jprintf(&b, ",");
        vcpu_json(&b, &d->vcpu[i]);
    }
    jprintf(&b, "]}\n");
    console_write(buf, MIN(b.len, sizeof(buf) - 1));
}

void stats_fill(const struct vcpu *v, struct nestor_exit_stats *out)
{
    out->nr_reasons = NESTOR_NR_EXIT_REASONS;
    out->total_exits = out->total_cycles = 0;
    for (unsigned r = 0; r < NESTOR_NR_EXIT_REASONS; r++) {
        out->reason[r].count = v->exits[r].count;
        out->reason[r].cycles = v->exits[r].cycles;
        out->total_exits += v->exits[r].count;
        out->total_cycles += v->exits[r].cycles;
    }
}
