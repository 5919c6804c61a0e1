# mm/sources.mk - every source file of mm/, layer by layer from the bottom (paths relative to mm/;
# mm/tools/layers.sh checks the direction). The one list both builds use: mm/Makefile (`make -C mm`)
# and ../build.mk (every configuration of the project) include it. A new .c file of mm/ is added
# here; `make -f build.mk srccheck` (run by ./build.sh test) fails while one is missing.
MM_SRCS := \
	lib/format.c lib/range_tree.c lib/report.c lib/state.c lib/trace.c lib/trace_show.c \
	physical/buddy.c physical/memblock.c physical/numa.c physical/pcp.c physical/reclaim.c \
	heap/kmalloc.c heap/slab.c \
	virtual/fault.c virtual/file.c virtual/fork.c virtual/mmap.c virtual/page_table.c \
	virtual/vm_lock.c virtual/vm_tree.c virtual/vma.c virtual/vmalloc.c virtual/kfence.c \
	virtual/rmap.c virtual/migrate.c virtual/mempolicy.c virtual/mpol_place.c virtual/numa_balance.c \
	swap/swap_lru.c swap/swap_slot.c \
	protection/keys.c protection/domain.c protection/migrate.c \
	init/init.c \
	checks/check.c checks/check_kfence.c checks/check_pt.c checks/check_slab.c \
	checks/check_tree.c checks/check_vm.c checks/check_vmalloc.c checks/check_step.c \
	checks/describe.c checks/leak.c checks/stats.c checks/dump.c \
	checks/check_domain.c
