//! The ArrayBuffer allocator of the isolates a [`crate::Runtime`] creates (the `fast-paths`
//! feature): calloc, malloc and free for small blocks, mappings of their own for large ones,
//! plus a hand-over through which the one-copy path (`super::copy_of`) gives V8 a buffer it has
//! already filled.
//!
//! Why a hand-over: V8 counts only memory from the isolate's allocator towards its GC
//! heuristics. A received 1 MiB buffer wrapped from Rust memory is invisible to them, so
//! garbage buffers pile up (500 MB RSS after 2000 messages); one allocated through
//! `ArrayBuffer::NewBackingStore` is counted, but is zeroed first and then copied into: two
//! passes over cold memory. With the hand-over, V8's allocation call returns the filled block.
//!
//! Large blocks are mapped pages of their own (`mmap`), not malloc memory: fresh ones are zero
//! without being touched, so an `ArrayBuffer` nobody writes costs no page faults (glibc's calloc
//! memsets a recycled heap chunk, faulting every page; a first-touch fault costs about 2.5 us
//! per 4 KiB page on the VMs this was measured on). Large blocks V8 frees are kept in a small
//! pool: a reused block is handed out as it is where no zeroes are needed, and otherwise zeroed
//! page by page as cheaply as its pages allow: resident pages with streaming stores, pages never
//! touched (or given back) by telling the kernel to drop them, which reads back as zeroes.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::LARGE;

thread_local! {
  /// A filled block waiting for the next allocation of exactly its length on this thread.
  static HANDOVER: Cell<Option<(NonNull<u8>, usize)>> = const { Cell::new(None) };
}

/// An isolate slot marking isolates whose ArrayBuffer allocator is [`allocator`]. Others (an
/// embedder's own isolate) never see the hand-over; the clone falls back to the serializer.
pub(crate) struct OwnAllocator;

/// The allocator to put in an isolate's `CreateParams`; mark the isolate with [`OwnAllocator`].
pub(crate) fn allocator() -> v8::UniqueRef<v8::Allocator> {
  static VTABLE: v8::RustAllocatorVtable<()> = v8::RustAllocatorVtable {
    allocate,
    allocate_uninitialized,
    free,
    drop,
  };
  static HANDLE: () = ();
  // SAFETY: the handle is a 'static unit the functions never read, and every function in the
  // vtable is thread-safe (V8 frees buffers from its GC threads too).
  unsafe { v8::new_rust_allocator(&HANDLE, &VTABLE) }
}

/// At most this much freed memory waits in the pool. V8 collects young buffers once 64 MiB of
/// them are allocated (twice its largest semi-space), so a flood of 1 MiB messages frees about
/// that much at a time; with less room the rest is unmapped and its next use faults again.
const POOL_CAPACITY: usize = 96 << 20;

/// Freed large blocks: (address, length), and every large block mapped and not yet unmapped:
/// address -> length as mapped (what is unmapped is what was mapped, whatever length a free
/// reports). Addresses, not pointers, so the static is `Sync`.
struct Pool {
  blocks: Vec<(usize, usize)>,
  bytes: usize,
  mapped: BTreeMap<usize, usize>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
  blocks: Vec::new(),
  bytes: 0,
  mapped: BTreeMap::new(),
});

fn pool() -> MutexGuard<'static, Pool> {
  // Nothing panics while the lock is held; should it ever be poisoned, the data is still sound.
  POOL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A pooled block of exactly `length` bytes (contents undefined), the most recently freed first.
fn take_pooled(length: usize) -> Option<NonNull<u8>> {
  if length < LARGE {
    return None;
  }
  let mut pool = pool();
  let index = pool.blocks.iter().rposition(|&(_, len)| len == length)?;
  let (address, _) = pool.blocks.swap_remove(index);
  pool.bytes -= length;
  NonNull::new(address as *mut u8)
}

/// Keeps a freed block for reuse; `false` when it is not a mapped block or the pool is full.
fn put_pooled(block: *mut c_void, length: usize) -> bool {
  let mut pool = pool();
  if length < LARGE
    || pool.mapped.get(&(block as usize)) != Some(&length)
    || pool.bytes + length > POOL_CAPACITY
  {
    return false;
  }
  pool.blocks.push((block as usize, length));
  pool.bytes += length;
  true
}

/// A fresh block of `length` (>= LARGE) zero bytes, or `None`. With `populate`, its pages are
/// faulted in by one system call (for a block about to be written whole: cheaper than a fault
/// per page); without, none is touched yet.
#[cfg(target_os = "linux")]
fn map_block(length: usize, populate: bool) -> Option<NonNull<u8>> {
  let populate = if populate { libc::MAP_POPULATE } else { 0 };
  // SAFETY: an anonymous private mapping at an address of the kernel's choosing has no
  // preconditions; failure is MAP_FAILED, checked below.
  let address = unsafe {
    libc::mmap(
      std::ptr::null_mut(),
      length,
      libc::PROT_READ | libc::PROT_WRITE,
      libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | populate,
      -1,
      0,
    )
  };
  if address == libc::MAP_FAILED {
    return None;
  }
  pool().mapped.insert(address as usize, length);
  NonNull::new(address.cast())
}

#[cfg(not(target_os = "linux"))]
fn map_block(_length: usize, _populate: bool) -> Option<NonNull<u8>> {
  None
}

/// Gives back a block: unmapped if [`map_block`] made it, else to libc's free.
fn release(block: *mut c_void) {
  #[cfg(target_os = "linux")]
  {
    let mapped = pool().mapped.remove(&(block as usize));
    if let Some(mapped) = mapped {
      // SAFETY: the block is a mapping of `mapped` bytes made by `map_block` that nothing
      // refers to any more; it is no longer in `mapped`, so it is unmapped once.
      unsafe { libc::munmap(block, mapped) };
      return;
    }
  }
  // SAFETY: anything not mapped here came from malloc or calloc.
  unsafe { libc::free(block) }
}

/// A block of `length` bytes with undefined contents, to be written whole: pooled, freshly
/// mapped (large) or malloc'd.
fn uninitialized_block(length: usize) -> Option<NonNull<u8>> {
  if length >= LARGE
    && let Some(block) = take_pooled(length).or_else(|| map_block(length, true))
  {
    return Some(block);
  }
  // SAFETY: malloc has no preconditions; null is handled.
  NonNull::new(unsafe { libc::malloc(length.max(1)) }.cast())
}

/// Zeroes a pooled block: resident pages with streaming stores, the others by dropping them
/// (they read back as zeroes and cost nothing until touched, as in a fresh block).
///
/// # Safety
/// `block` must be a mapped block of `length` bytes owned by the caller.
#[cfg(target_os = "linux")]
unsafe fn zero_block(block: NonNull<u8>, length: usize) {
  // SAFETY: sysconf has no preconditions.
  let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
  let Some(page_size) = usize::try_from(page_size).ok().filter(|&size| size > 0) else {
    // SAFETY: forwarded from the caller.
    unsafe { zero_bytes(block.as_ptr(), length) };
    return;
  };
  let pages = length.div_ceil(page_size);
  let mut resident = vec![0u8; pages];
  let start = block.as_ptr();
  // SAFETY: the block is page-aligned (mmap) and mapped for `length` bytes; `resident` holds
  // one byte per page of it.
  if unsafe { libc::mincore(start.cast(), length, resident.as_mut_ptr()) } != 0 {
    // SAFETY: forwarded from the caller.
    unsafe { zero_bytes(start, length) };
    return;
  }
  let mut page = 0;
  while page < pages {
    let present = resident[page] & 1;
    let end = (page..pages)
      .find(|&p| resident[p] & 1 != present)
      .unwrap_or(pages);
    let offset = page * page_size;
    let count = (end * page_size).min(length) - offset;
    // SAFETY (both): `offset + count` is within the block, which the caller owns; a page not
    // resident was never touched or was dropped, and MADV_DONTNEED makes sure it reads back
    // as zeroes (whatever swap held for it).
    let dropped = present == 0
      && unsafe { libc::madvise(start.add(offset).cast(), count, libc::MADV_DONTNEED) } == 0;
    if !dropped {
      unsafe { zero_bytes(start.add(offset), count) };
    }
    page = end;
  }
}

#[cfg(not(target_os = "linux"))]
unsafe fn zero_block(block: NonNull<u8>, length: usize) {
  // SAFETY: forwarded from the caller.
  unsafe { zero_bytes(block.as_ptr(), length) };
}

unsafe extern "C" fn allocate(_: &(), length: usize) -> *mut c_void {
  // `try_with`: this may run while the thread's locals are being torn down; no hand-over then.
  let handed = HANDOVER
    .try_with(|slot| match slot.take() {
      Some((block, len)) if len == length => Some(block),
      other => {
        slot.set(other);
        None
      }
    })
    .ok()
    .flatten();
  if let Some(block) = handed {
    return block.as_ptr().cast();
  }
  if length >= LARGE {
    if let Some(block) = take_pooled(length) {
      // SAFETY: the pooled block is a mapped block of `length` bytes, ours alone.
      unsafe { zero_block(block, length) };
      return block.as_ptr().cast();
    }
    if let Some(block) = map_block(length, false) {
      return block.as_ptr().cast();
    }
  }
  // SAFETY: calloc has no preconditions; V8 handles a null result.
  unsafe { libc::calloc(length.max(1), 1) }
}

unsafe extern "C" fn allocate_uninitialized(_: &(), length: usize) -> *mut c_void {
  uninitialized_block(length).map_or(std::ptr::null_mut(), |block| block.as_ptr().cast())
}

unsafe extern "C" fn free(_: &(), data: *mut c_void, length: usize) {
  // V8 frees only what this allocator returned, with the length it asked for: mapped blocks
  // (handed over, pooled or fresh) and blocks from calloc/malloc.
  if data.is_null() || put_pooled(data, length) {
    return;
  }
  release(data);
}

unsafe extern "C" fn drop(_: *const ()) {}

/// A backing store of `length` bytes that `fill` initialises (it must write every byte),
/// allocated through the isolate's allocator so V8 accounts for it. `None` when the isolate does
/// not use [`allocator`] or memory is short; the caller then takes the ordinary path, which
/// reports a failure as a JS exception.
pub(crate) fn filled_store(
  isolate: &mut v8::Isolate,
  length: usize,
  fill: impl FnOnce(NonNull<u8>),
) -> Option<v8::SharedRef<v8::BackingStore>> {
  if length == 0 || isolate.get_slot::<OwnAllocator>().is_none() {
    return None;
  }
  let block = uninitialized_block(length)?;
  fill(block);
  HANDOVER.with(|slot| slot.set(Some((block, length))));
  let store = v8::ArrayBuffer::new_backing_store(isolate, length).make_shared();
  if let Some((block, _)) = HANDOVER.with(|slot| slot.take()) {
    // V8 did not ask for the block (it never does that for a non-empty store with this
    // allocator, but the data must not be lost if it did): copy it over and free it.
    if let Some(data) = store.data() {
      // SAFETY: both regions are `length` bytes long, `block` is our own allocation and the
      // store's memory is V8's, so they do not overlap; nothing else uses either yet.
      unsafe { std::ptr::copy_nonoverlapping(block.as_ptr(), data.as_ptr().cast(), length) };
    }
    // Nobody else holds `block`.
    release(block.as_ptr().cast());
  }
  Some(store)
}

/// Zeroes `length` bytes at `destination`, with streaming stores when large (the destination is
/// a recycled block that is not in cache).
///
/// # Safety
/// `destination` must be writable for `length` bytes.
unsafe fn zero_bytes(destination: *mut u8, length: usize) {
  // SAFETY: `offset + count` stays within `length`, which the caller vouches for.
  let plain = |offset: usize, count: usize| unsafe {
    std::ptr::write_bytes(destination.add(offset), 0, count)
  };
  #[cfg(target_arch = "x86_64")]
  if length >= LARGE {
    use std::arch::x86_64::_mm_setzero_si128;
    // SAFETY: SSE2 is part of the x86_64 baseline.
    let zero = unsafe { _mm_setzero_si128() };
    // SAFETY: forwarded from the caller.
    unsafe { super::write_streaming(destination, length, plain, |_| [zero; 4]) };
    return;
  }
  plain(0, length);
}
