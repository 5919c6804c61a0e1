/*
 * postmortem_svg.c - the pictures of the post-mortem tool (postmortem.c): the physical memory map
 * of the loaded dump coloured by page state (one cell per page, or per group of pages on a large
 * machine: 256 cells a row), and per zone the free memory by block order with its unusable free
 * space index (fragmentation). Reads the loaded mm through its public statistics and the struct
 * page array; changes nothing.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "../mm/internal.h"

enum pm_state { PS_HOLE, PS_RESERVED, PS_FREE, PS_PCP, PS_SLAB, PS_LARGE, PS_PGTABLE, PS_CACHE,
                PS_USER, PS_OTHER, PS_NR };

static const char *const pm_colour[PS_NR] = { "#d0d0d0", "#606060", "#d8f0d0", "#b8e0f8",
                                             "#f0a030", "#9060c0", "#d03030", "#30a0a0",
                                             "#3060d0", "#e0d040" };
static const char *const pm_label[PS_NR] = { "hole", "reserved", "free", "per-CPU free", "slab",
                                            "large kmalloc", "page table", "page cache",
                                            "user mapped", "other allocated" };

static enum pm_state pm_block_state(const struct page *h)
{
    if (h->flags & PG_slab)
        return PS_SLAB;
    if (h->flags & PG_large)
        return PS_LARGE;
    if (h->flags & PG_pgtable)
        return PS_PGTABLE;
    if (h->flags & PG_cache)
        return PS_CACHE;
    return h->mapcount > 0 ? PS_USER : PS_OTHER;
}

/* The state of every pfn into @st (mm_max_pfn entries); counts per state into @count. */
static void pm_classify(unsigned char *st, unsigned long *count)
{
    for (unsigned long pfn = 0; pfn < mm_max_pfn;) {
        const struct page *p = pfn_to_page(pfn);
        unsigned long n = 1;
        enum pm_state s = PS_OTHER;
        if (p->flags & PG_hole)
            s = PS_HOLE;
        else if (p->flags & PG_buddy)
            s = PS_FREE, n = p->order <= MM_MAX_ORDER ? 1ul << p->order : 1;
        else if (p->flags & PG_pcp)
            s = PS_PCP;
        else if (p->flags & PG_head)
            s = pm_block_state(p), n = p->order <= MM_MAX_ORDER ? 1ul << p->order : 1;
        else if (p->flags & PG_reserved)
            s = PS_RESERVED;
        for (unsigned long i = 0; i < n && pfn < mm_max_pfn; i++, pfn++) {
            st[pfn] = (unsigned char)s;
            count[s]++;
        }
    }
}

#define PM_COLS 256u
#define PM_CELL 3u

static unsigned int pm_map(FILE *f, const unsigned char *st, unsigned int y0)
{
    unsigned long per = 1;
    while (mm_max_pfn / per > 256ul * PM_COLS)
        per *= 2;
    unsigned long cells = (mm_max_pfn + per - 1) / per, rows = (cells + PM_COLS - 1) / PM_COLS;
    fprintf(f, "<text x='10' y='%u' font-size='13'>physical memory: %lu pages, %lu per cell, "
               "%u cells a row (pfn 0 top left)</text>\n", y0 + 14, mm_max_pfn, per, PM_COLS);
    y0 += 22;
    for (unsigned long r = 0; r < rows; r++) {
        unsigned long c = 0;
        while (c < PM_COLS && r * PM_COLS + c < cells) {
            unsigned char s = st[(r * PM_COLS + c) * per];
            unsigned long e = c + 1;
            while (e < PM_COLS && r * PM_COLS + e < cells && st[(r * PM_COLS + e) * per] == s)
                e++;
            fprintf(f, "<rect x='%lu' y='%lu' width='%lu' height='%u' fill='%s'/>\n",
                    10 + c * PM_CELL, y0 + r * PM_CELL, (e - c) * PM_CELL, PM_CELL, pm_colour[s]);
            c = e;
        }
    }
    return y0 + (unsigned int)rows * PM_CELL + 10;
}

static unsigned int pm_legend(FILE *f, const unsigned long *count, unsigned int y)
{
    for (unsigned int s = 0; s < PS_NR; s++) {
        unsigned int x = 10 + (s % 5) * 160, yy = y + (s / 5) * 18;
        fprintf(f, "<rect x='%u' y='%u' width='12' height='12' fill='%s' stroke='#000'/>"
                   "<text x='%u' y='%u' font-size='12'>%s (%lu)</text>\n",
                x, yy, pm_colour[s], x + 16, yy + 11, pm_label[s], count[s]);
    }
    return y + 44;
}

/* Per zone: free pages held in blocks of each order (bars) and the unusable index. */
static unsigned int pm_frag(FILE *f, unsigned int y)
{
    static struct page_alloc_stats st;
    page_alloc_get_stats(&st);
    fprintf(f, "<text x='10' y='%u' font-size='13'>free memory by block order per zone "
               "(bar: pages in free blocks of that order; u: unusable free space index "
               "at that order, per mille)</text>\n", y + 14);
    y += 24;
    for (unsigned int z = 0; z < MM_NR_ZONES; z++) {
        const struct zone_stats *zs = &st.zone[z];
        unsigned long max = 1;
        if (!zs->populated)
            continue;
        for (unsigned int o = 0; o < MM_NR_ORDERS; o++)
            max = MM_MAX(max, zs->nr_free_blocks[o] << o);
        fprintf(f, "<text x='10' y='%u' font-size='12'>%s: %lu free of %lu managed</text>\n",
                y + 12, zs->name, zs->nr_free, zs->managed);
        for (unsigned int o = 0; o < MM_NR_ORDERS; o++) {
            unsigned long pages = zs->nr_free_blocks[o] << o;
            unsigned int h = (unsigned int)(pages * 80 / max), x = 10 + o * 64;
            fprintf(f, "<rect x='%u' y='%u' width='40' height='%u' fill='#3a8'/>"
                       "<text x='%u' y='%u' font-size='10'>o%u: %lu</text>"
                       "<text x='%u' y='%u' font-size='10'>u=%u</text>\n",
                    x, y + 100 - h, h, x, y + 114, o, pages, x, y + 126, zs->unusable_index[o]);
        }
        y += 140;
    }
    return y;
}

void pm_write_svg(const char *path)
{
    static unsigned char st[1ul << 22];
    unsigned long count[PS_NR] = { 0 };
    FILE *f = fopen(path, "w");

    if (!f || mm_max_pfn > sizeof(st)) {
        fprintf(stderr, "postmortem: cannot write %s\n", path);
        if (f)
            fclose(f);
        return;
    }
    pm_classify(st, count);
    /* the body first (its height is known only at the end), then the header around it */
    char *body = NULL;
    size_t len = 0;
    FILE *b = open_memstream(&body, &len);
    unsigned int y = pm_map(b, st, 0);
    y = pm_legend(b, count, y);
    y = pm_frag(b, y);
    fclose(b);
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%u' height='%u' "
               "font-family='monospace'>\n<rect width='100%%' height='100%%' fill='white'/>\n",
            20 + PM_COLS * PM_CELL, y + 10);
    fwrite(body, 1, len, f);
    fprintf(f, "</svg>\n");
    free(body);
    fclose(f);
}
