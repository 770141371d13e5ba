// The VRL001 pattern, as simply as Coccinelle says it: a function that takes spin_lock(L) and,
// before spin_unlock(L) on some path, calls virtqueue_get_buf() (in any expression: a loop
// condition, an assignment). Matched per function, without linking the function to a vring
// callback or a work item, and without following calls (virtio-gpu's reclaim_vbufs() drain is
// not seen). Used by bench/kernel.ts to time `spatch` against `check` over the same tree.
@r exists@
expression L;
identifier fn;
@@
fn(...) {
<+...
* spin_lock(L);
... when != spin_unlock(L)
* virtqueue_get_buf(...)
...+>
}
