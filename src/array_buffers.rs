//! ArrayBuffer memory for the isolates a [`crate::Runtime`] creates: the usual calloc, malloc
//! and free, plus a hand-over through which the one-copy clone path gives V8 a buffer it has
//! already filled.
//!
//! Why a hand-over: V8 counts only memory from the isolate's allocator towards its GC
//! heuristics. A received 1 MiB buffer wrapped from Rust memory is invisible to them, so
//! garbage buffers pile up (500 MB RSS after 2000 messages); one allocated through
//! `ArrayBuffer::NewBackingStore` is counted, but is zeroed first and then copied into: two
//! passes over cold memory. With the hand-over, V8's allocation call returns the filled block.
//!
//! Large blocks V8 frees are also kept in a small pool: a reused block is zeroed with streaming
//! stores (glibc's calloc zeroes recycled memory through the cache, at twice the cost) or
//! handed out as it is where no zeroes are needed. Fresh memory still comes from calloc, which
//! leaves untouched pages unfaulted.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard, PoisonError};

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

/// Blocks from this size up are pooled, and copied or zeroed with streaming stores.
const LARGE: usize = 256 * 1024;
/// At most this much freed memory waits in the pool.
const POOL_CAPACITY: usize = 32 << 20;

/// Freed large blocks: (address, length). Addresses, not pointers, so the static is `Sync`.
struct Pool {
  blocks: Vec<(usize, usize)>,
  bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
  blocks: Vec::new(),
  bytes: 0,
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

/// Keeps a freed block for reuse; `false` when it is small or the pool is full.
fn put_pooled(block: *mut c_void, length: usize) -> bool {
  #[cfg(all(target_os = "linux", target_env = "gnu"))]
  {
    // SAFETY: `block` is a live allocation from malloc/calloc (see `free`).
    // The check guards against a length V8 reports larger than the allocation.
    if length < LARGE || unsafe { libc::malloc_usable_size(block) } < length {
      return false;
    }
    let mut pool = pool();
    if pool.bytes + length > POOL_CAPACITY {
      return false;
    }
    pool.blocks.push((block as usize, length));
    pool.bytes += length;
    true
  }
  #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
  {
    let _ = (block, length);
    false
  }
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
  if let Some(block) = take_pooled(length) {
    // SAFETY: the pooled block is ours alone and `length` bytes long.
    unsafe { zero_bytes(block.as_ptr(), length) };
    return block.as_ptr().cast();
  }
  // SAFETY: calloc has no preconditions; V8 handles a null result.
  unsafe { libc::calloc(length.max(1), 1) }
}

unsafe extern "C" fn allocate_uninitialized(_: &(), length: usize) -> *mut c_void {
  if let Some(block) = take_pooled(length) {
    return block.as_ptr().cast();
  }
  // SAFETY: malloc has no preconditions; V8 handles a null result.
  unsafe { libc::malloc(length.max(1)) }
}

unsafe extern "C" fn free(_: &(), data: *mut c_void, length: usize) {
  // V8 frees only what this allocator returned: blocks from calloc/malloc, handed-over and
  // pooled ones included (they come from malloc in `filled_store` or from this pool).
  if data.is_null() || put_pooled(data, length) {
    return;
  }
  // SAFETY: see above; the block is not pooled, so nobody else refers to it.
  unsafe { libc::free(data) }
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
  let block = match take_pooled(length) {
    Some(block) => block,
    // SAFETY: malloc has no preconditions; null is handled.
    None => NonNull::new(unsafe { libc::malloc(length) }.cast::<u8>())?,
  };
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
    // SAFETY: `block` came from malloc (above, or earlier for a pooled one) and nobody else
    // holds it.
    unsafe { libc::free(block.as_ptr().cast()) };
  }
  Some(store)
}

/// Copies `length` bytes from `source` to `destination`. Large copies bypass the cache with
/// streaming stores: the destination is a fresh allocation that is not in cache, and an ordinary
/// copy would first read every destination line (measured: 1 MiB in 68 us instead of 150 us).
///
/// # Safety
/// `source` must be readable and `destination` writable for `length` bytes, and the two ranges
/// must not overlap.
pub(crate) unsafe fn copy_bytes(source: *const u8, destination: *mut u8, length: usize) {
  // SAFETY (both closures): `offset + count` and `offset + 64` stay within `length`, which the
  // caller vouches for on both sides.
  let plain = |offset: usize, count: usize| unsafe {
    std::ptr::copy_nonoverlapping(source.add(offset), destination.add(offset), count)
  };
  #[cfg(target_arch = "x86_64")]
  if length >= LARGE {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128};
    let chunk = |offset: usize| unsafe {
      let from = source.add(offset).cast::<__m128i>();
      [0, 1, 2, 3].map(|i| _mm_loadu_si128(from.add(i)))
    };
    // SAFETY: forwarded from the caller.
    unsafe { write_streaming(destination, length, plain, chunk) };
    return;
  }
  plain(0, length);
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
    unsafe { write_streaming(destination, length, plain, |_| [zero; 4]) };
    return;
  }
  plain(0, length);
}

/// Writes `length` bytes at `destination` with streaming stores, 64 bytes (`chunk(offset)`) at a
/// time; `plain(offset, count)` writes the unaligned head and the tail the ordinary way.
///
/// # Safety
/// `destination` must be writable for `length` bytes, and the closures must be sound for every
/// offset and count within it.
#[cfg(target_arch = "x86_64")]
unsafe fn write_streaming(
  destination: *mut u8,
  length: usize,
  plain: impl Fn(usize, usize),
  chunk: impl Fn(usize) -> [std::arch::x86_64::__m128i; 4],
) {
  use std::arch::x86_64::{__m128i, _mm_sfence, _mm_stream_si128};
  // Streaming stores need 16-byte aligned destinations.
  let head = destination.align_offset(16).min(length);
  plain(0, head);
  let mut offset = head;
  while offset + 64 <= length {
    let to = destination.wrapping_add(offset).cast::<__m128i>();
    for (i, value) in chunk(offset).into_iter().enumerate() {
      // SAFETY: `to + i` is 16-byte aligned and within the `length` bytes the caller vouches
      // for; SSE2 is part of the x86_64 baseline.
      unsafe { _mm_stream_si128(to.add(i), value) };
    }
    offset += 64;
  }
  // Streaming stores are weakly ordered: fence before anyone else may read the buffer.
  // SAFETY: SSE2 is part of the x86_64 baseline.
  unsafe { _mm_sfence() };
  plain(offset, length - offset);
}
