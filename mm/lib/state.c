/*
 * state.c - the one mm instance: mm_state (its parts, owners and locks are in core.h), the struct
 * page array every layer indexes (page_alloc.h: pfn_to_page, page_to_pfn), and their reset.
 *
 * mm_early_init (init) calls mm_state_reset first: every part is zeroed at once and the page
 * array forgotten, so a new boot starts from nothing (fuzz targets reset between inputs this way).
 * The array itself is allocated and set by mm_core_init.
 */
#include "core.h"

struct mm_state mm_state;
struct page *mm_mem_map;
unsigned long mm_max_pfn;

void mm_state_reset(void)
{
    memset(&mm_state, 0, sizeof(mm_state));
    mm_mem_map = NULL;
    mm_max_pfn = 0;
}

unsigned int mm_nr_cpus(void) { return mm_state.core.nr_cpus ? mm_state.core.nr_cpus : 1; }
