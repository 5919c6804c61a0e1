/*
 * file.c - in-memory file objects and their page cache.
 *
 *   mm_file: store[i]  backing store page (NULL = zeros)      <- written back from the cache
 *            cache[i]  page-cache page (PG_cache), read in from store[i] on first touch
 *            dirty[i]  cache page newer than the store
 *
 * A cache page holds one reference for the cache plus one per PTE that maps it (mapcount counts
 * the PTEs). Readers (mm_file_read) see the cache where a page is cached, so the file is always
 * coherent with shared mappings; dirty pages (written through a shared mapping, noticed at unmap,
 * or written with mm_file_write) are copied back to the store by mm_file_sync.
 *
 * Every live file is on mm_state.vm.files (nr_files long). The public entry points look a file up
 * there before touching it, so a put of a released file (or any use of one) is reported at the
 * call without reading its freed memory.
 */
#include "mmap_internal.h"

static void file_lists_init(void)
{
    if (!mm_state.vm.files.next) {
        list_init(&mm_state.vm.mms);
        list_init(&mm_state.vm.files);
    }
}

static struct mm_file *mm_file_create_locked(uint64_t size, bool writable)
{
    if (!mm_state.heap.ready || size > (1ull << 40))
        return NULL;
    file_lists_init();
    struct mm_file *f = kzalloc(sizeof(*f), GFP_KERNEL);
    if (!f)
        return NULL;
    f->size = size;
    f->writable = writable;
    f->refs = 1;
    f->npages = (unsigned long)MM_PFN_UP(size);
    list_init(&f->i_mmap);
    if (f->npages) {
        f->cache = kcalloc(f->npages, sizeof(struct page *), GFP_KERNEL);
        f->store = kcalloc(f->npages, sizeof(struct page *), GFP_KERNEL);
        f->dirty = kcalloc(f->npages, 1, GFP_KERNEL);
        if (!f->cache || !f->store || !f->dirty) {
            kfree(f->cache);
            kfree(f->store);
            kfree(f->dirty);
            kfree(f);
            return NULL;
        }
    }
    list_add_tail(&f->list, &mm_state.vm.files);
    mm_state.vm.nr_files++;
    return f;
}

/* Is @f a live file? A walk of at most nr_files entries: a damaged list cannot make it spin. */
static bool file_is_live(const struct mm_file *f)
{
    const struct list_head *pos = mm_state.vm.files.next;
    if (!f || !pos)
        return false;
    for (unsigned long n = 0; pos != &mm_state.vm.files && n < mm_state.vm.nr_files; n++) {
        if (pos == &f->list)
            return true;
        pos = pos->next;
    }
    return false;
}

int mm_file_check_live(const struct mm_file *f, const char *func)
{
    if (mm_likely(file_is_live(f)))
        return 0;
    return mm_report_misuse(f ? MM_MISUSE_DOUBLE_FREE : MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, func,
                            (uintptr_t)f, ~0ul, "%p is not a live mm_file (%s)", (const void *)f,
                            f ? "released already, or never created" : "NULL");
}

void mm_file_get(struct mm_file *f) { f->refs++; }

uint64_t mm_file_size(const struct mm_file *f) { return f ? f->size : 0; }

static void file_writeback(struct mm_file *f, unsigned long i)
{
    if (!f->dirty[i] || !f->cache[i])
        return;
    if (!f->store[i]) {
        f->store[i] = alloc_pages(GFP_KERNEL, 0);
        if (!f->store[i])
            return; /* stays dirty; the cache keeps the data */
    }
    memcpy(page_address(f->store[i]), page_address(f->cache[i]), PAGE_SIZE);
    f->dirty[i] = 0;
}

static void mm_file_sync_locked(struct mm_file *f)
{
    if (mm_file_check_live(f, "mm_file_sync"))
        return;
    for (unsigned long i = 0; i < f->npages; i++)
        file_writeback(f, i);
}

void mm_file_set_dirty(struct mm_file *f, uint64_t index)
{
    if (f && index < f->npages && f->cache[index])
        f->dirty[index] = 1;
}

static void mm_file_put_locked(struct mm_file *f)
{
    if (!f || mm_file_check_live(f, "mm_file_put") || --f->refs > 0)
        return;
    for (unsigned long i = 0; i < f->npages; i++) {
        if (f->cache[i]) {
            f->cache[i]->flags &= ~PG_cache;
            f->cache[i]->private_data = 0;
            __free_pages(f->cache[i], 0);
        }
        if (f->store[i])
            __free_pages(f->store[i], 0);
    }
    list_del(&f->list);
    mm_state.vm.nr_files--;
    kfree(f->cache);
    kfree(f->store);
    kfree(f->dirty);
    kfree(f);
}

struct page *mm_file_page(struct mm_file *f, uint64_t index, gfp_t gfp, int *err)
{
    if (index >= f->npages) {
        *err = -MM_ERANGE;
        return NULL;
    }
    struct page *p = f->cache[index];
    if (!p) { /* read in from the backing store */
        p = alloc_pages(gfp, 0);
        if (!p) {
            *err = -MM_ENOMEM;
            return NULL;
        }
        if (f->store[index])
            memcpy(page_address(p), page_address(f->store[index]), PAGE_SIZE);
        else
            memset(page_address(p), 0, PAGE_SIZE);
        p->flags |= PG_cache;
        p->private_data = (uintptr_t)f;
        f->cache[index] = p;
    }
    get_page(p);
    return p;
}

/* Copy between @buf and the file at @off: through the cache where cached, else the store. */
static int file_copy(struct mm_file *f, uint64_t off, void *buf, size_t len, bool write,
                     const char *func)
{
    if (mm_file_check_live(f, func))
        return -MM_EINVAL;
    if (!buf && len)
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, func, 0, ~0ul,
                                "NULL buffer for %zu bytes", len);
    if (off > f->size || len > f->size - off)
        return -MM_EINVAL;
    while (len) {
        unsigned long i = (unsigned long)(off >> PAGE_SHIFT);
        size_t in = (size_t)(off & (PAGE_SIZE - 1)), n = MM_MIN(len, (size_t)PAGE_SIZE - in);
        struct page *p = f->cache[i] ? f->cache[i] : f->store[i];
        if (!p && write) {
            p = f->store[i] = alloc_pages(GFP_KERNEL | __GFP_ZERO, 0);
            if (!p)
                return -MM_ENOMEM;
        }
        if (write)
            memcpy((char *)page_address(p) + in, buf, n);
        else if (p)
            memcpy(buf, (char *)page_address(p) + in, n);
        else
            memset(buf, 0, n);
        if (write && f->cache[i])
            f->dirty[i] = 1;
        buf = (char *)buf + n;
        off += n;
        len -= n;
    }
    return 0;
}

int mm_file_read(struct mm_file *f, uint64_t off, void *buf, size_t len)
{
    vm_lock();
    int r = file_copy(f, off, buf, len, false, __func__);
    vm_unlock();
    return r;
}

int mm_file_write(struct mm_file *f, uint64_t off, const void *buf, size_t len)
{
    vm_lock();
    int r = file_copy(f, off, (void *)buf, len, true, __func__);
    vm_unlock();
    return r;
}

/* ---- the public entries: each under the address-space lock (vm_lock.c) ---- */

struct mm_file *mm_file_create(uint64_t size, bool writable)
{
    vm_lock();
    struct mm_file *f = mm_file_create_locked(size, writable);
    vm_unlock();
    return f;
}

void mm_file_sync(struct mm_file *f)
{
    vm_lock();
    mm_file_sync_locked(f);
    vm_unlock();
}

void mm_file_put(struct mm_file *f)
{
    vm_lock();
    mm_file_put_locked(f);
    vm_unlock();
}
