//! The C ABI of softmax-simd (`include/softmax_simd.h`): a static and a
//! shared library, `libsoftmax_simd_c`.
//!
//! Every entry point checks its pointers and shapes before it forms a slice,
//! maps errors to `Status`, and catches panics, so no unwinding crosses into
//! C. Nothing is written unless the status is `Ok`.
#![warn(clippy::undocumented_unsafe_blocks, missing_docs)]

use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, Ordering};

use softmax_simd::{Batch, Error, Isa, Kernels};

/// `softmax_simd_status` in the header; the values must match it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// A required pointer is NULL.
    NullPointer = 1,
    /// A shape, stride or size that cannot be used.
    BadShape = 2,
    /// Output overlaps input without being the same buffer.
    Overlap = 3,
    /// A temperature that is not finite and positive.
    BadTemperature = 4,
    /// An unknown level name.
    UnknownLevel = 5,
    /// A level this CPU cannot run.
    UnavailableLevel = 6,
    /// Threads set after the pool started, or 0 threads.
    BadThreads = 7,
    /// A panic caught at the boundary.
    Internal = 8,
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::BadTemperature(_) => Status::BadTemperature,
            Error::Unavailable(_) => Status::UnavailableLevel,
            Error::UnknownIsa(_) => Status::UnknownLevel,
            _ => Status::BadShape,
        }
    }
}

fn status(r: Result<(), Error>) -> Status {
    r.map_or_else(Status::from, |()| Status::Ok)
}

/// Runs `f`, turning a panic into `Status::Internal`.
fn guard(f: impl FnOnce() -> Status) -> Status {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(Status::Internal)
}

/// 0: the detected level; `i + 1`: `Isa::ALL[i]`, forced.
static FORCED: AtomicU8 = AtomicU8::new(0);

fn kernels() -> Kernels {
    match FORCED.load(Ordering::Relaxed) {
        0 => Kernels::detect(),
        i => Kernels::new(Isa::ALL[usize::from(i - 1)]).unwrap_or_else(|_| Kernels::detect()),
    }
}

/// The most floats a slice may hold.
const MAX_LEN: usize = isize::MAX as usize / std::mem::size_of::<f32>();

/// Floats a matrix needs: `(rows - 1) * stride + cols`, or `None` on overflow.
fn matrix_len(rows: usize, cols: usize, stride: usize) -> Option<usize> {
    match rows {
        0 => Some(0),
        r => (r - 1)
            .checked_mul(stride)?
            .checked_add(cols)
            .filter(|&n| n <= MAX_LEN),
    }
}

/// True when `a_len` values at `a` and `b_len` at `b` share a byte.
fn overlap<A, B>(a: *const A, a_len: usize, b: *const B, b_len: usize) -> bool {
    let (a0, b0) = (a as usize, b as usize);
    let a1 = a0.saturating_add(a_len.saturating_mul(std::mem::size_of::<A>()));
    let b1 = b0.saturating_add(b_len.saturating_mul(std::mem::size_of::<B>()));
    a_len > 0 && b_len > 0 && a0 < b1 && b0 < a1
}

/// See `softmax_simd_status_str` in the header.
#[unsafe(no_mangle)]
pub extern "C" fn softmax_simd_status_str(status: Status) -> *const c_char {
    let s: &CStr = match status as i32 {
        0 => c"ok",
        1 => c"a required pointer is NULL",
        2 => c"bad shape: cols == 0, stride < cols, n == 0 for argmax, two strides in place, or overflow",
        3 => c"output overlaps input without being the same buffer",
        4 => c"temperature must be finite and positive",
        5 => c"unknown level name",
        6 => c"this CPU cannot run that level",
        7 => c"threads must be > 0 and set before the first matrix call",
        8 => c"internal error (a bug: please report it)",
        _ => c"unknown status",
    };
    s.as_ptr()
}

/// See `softmax_simd_level` in the header.
#[unsafe(no_mangle)]
pub extern "C" fn softmax_simd_level() -> *const c_char {
    let s: &CStr = match kernels().isa() {
        Isa::Avx512 => c"avx512",
        Isa::Avx2 => c"avx2",
        Isa::Neon => c"neon",
        Isa::Portable => c"portable",
        Isa::Scalar => c"scalar",
    };
    s.as_ptr()
}

/// See `softmax_simd_force_level` in the header.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn softmax_simd_force_level(name: *const c_char) -> Status {
    guard(|| {
        if name.is_null() {
            FORCED.store(0, Ordering::Relaxed);
            return Status::Ok;
        }
        // SAFETY: the caller passes a NUL-terminated string (header contract).
        let name = unsafe { CStr::from_ptr(name) };
        let Ok(isa) = name.to_string_lossy().parse::<Isa>() else {
            return Status::UnknownLevel;
        };
        if let Err(e) = Kernels::new(isa) {
            return e.into();
        }
        let i = Isa::ALL.iter().position(|&a| a == isa).unwrap_or(0);
        FORCED.store(i as u8 + 1, Ordering::Relaxed);
        Status::Ok
    })
}

/// See `softmax_simd_set_threads` in the header.
#[unsafe(no_mangle)]
pub extern "C" fn softmax_simd_set_threads(threads: usize) -> Status {
    guard(|| {
        if threads == 0 {
            return Status::BadThreads;
        }
        match rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
        {
            Ok(()) => Status::Ok,
            Err(_) => Status::BadThreads,
        }
    })
}

#[derive(Clone, Copy)]
enum RowOp {
    Softmax,
    LogSoftmax,
}

/// One row, in place when `y == x`.
///
/// # Safety
/// `x` valid for `n` reads, `y` for `n` writes (header contract).
unsafe fn one_row(op: RowOp, x: *const f32, y: *mut f32, n: usize) -> Status {
    if x.is_null() || y.is_null() {
        return Status::NullPointer;
    }
    if n > MAX_LEN {
        return Status::BadShape;
    }
    let k = kernels();
    if std::ptr::eq(x, y) {
        // SAFETY: y is valid for n reads and writes (it is x too), and n
        // floats fit in isize; no other reference to it exists here.
        let xy = unsafe { std::slice::from_raw_parts_mut(y, n) };
        match op {
            RowOp::Softmax => k.softmax_in_place(xy),
            RowOp::LogSoftmax => k.log_softmax_in_place(xy),
        }
        return Status::Ok;
    }
    if overlap(x, n, y, n) {
        return Status::Overlap;
    }
    // SAFETY: x valid for n reads, y for n writes, and they do not overlap.
    let (x, y) = unsafe {
        (
            std::slice::from_raw_parts(x, n),
            std::slice::from_raw_parts_mut(y, n),
        )
    };
    status(match op {
        RowOp::Softmax => k.softmax(x, y),
        RowOp::LogSoftmax => k.log_softmax(x, y),
    })
}

/// See `softmax_simd_softmax` in the header.
///
/// # Safety
/// `x` valid for `n` reads and `y` for `n` writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn softmax_simd_softmax(x: *const f32, y: *mut f32, n: usize) -> Status {
    // SAFETY: forwarded contract.
    guard(|| unsafe { one_row(RowOp::Softmax, x, y, n) })
}

/// See `softmax_simd_log_softmax` in the header.
///
/// # Safety
/// `x` valid for `n` reads and `y` for `n` writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn softmax_simd_log_softmax(x: *const f32, y: *mut f32, n: usize) -> Status {
    // SAFETY: forwarded contract.
    guard(|| unsafe { one_row(RowOp::LogSoftmax, x, y, n) })
}

/// See `softmax_simd_argmax` in the header.
///
/// # Safety
/// `x` valid for `n` reads; `index` valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn softmax_simd_argmax(x: *const f32, n: usize, index: *mut usize) -> Status {
    guard(|| {
        if x.is_null() || index.is_null() {
            return Status::NullPointer;
        }
        if n == 0 || n > MAX_LEN {
            return Status::BadShape;
        }
        // SAFETY: x valid for n reads (contract), n checked above.
        let x = unsafe { std::slice::from_raw_parts(x, n) };
        match kernels().argmax(x) {
            Some(i) => {
                // SAFETY: index valid for one write (contract), checked non-null.
                unsafe { index.write(i) };
                Status::Ok
            }
            None => Status::BadShape,
        }
    })
}

/// A matrix, in place when `y == x` with one stride.
///
/// # Safety
/// `x` valid for `(rows - 1) * x_stride + cols` reads, `y` likewise for
/// writes with `y_stride`.
#[allow(clippy::too_many_arguments)]
unsafe fn rows_op(
    op: RowOp,
    x: *const f32,
    x_stride: usize,
    y: *mut f32,
    y_stride: usize,
    rows: usize,
    cols: usize,
    temperature: f32,
) -> Status {
    if x.is_null() || y.is_null() {
        return Status::NullPointer;
    }
    let (Some(x_len), Some(y_len)) = (
        matrix_len(rows, cols, x_stride),
        matrix_len(rows, cols, y_stride),
    ) else {
        return Status::BadShape;
    };
    let b = Batch::new(rows, cols)
        .strides(x_stride, y_stride)
        .temperature(temperature);
    let k = kernels();
    if std::ptr::eq(x, y) {
        if x_stride != y_stride {
            return Status::BadShape;
        }
        // SAFETY: x == y is valid for x_len reads and writes (contract), and
        // x_len fits in isize (matrix_len).
        let xy = unsafe { std::slice::from_raw_parts_mut(y, x_len) };
        return status(match op {
            RowOp::Softmax => k.softmax_batch_in_place(xy, &b),
            RowOp::LogSoftmax => k.log_softmax_batch_in_place(xy, &b),
        });
    }
    if overlap(x, x_len, y, y_len) {
        return Status::Overlap;
    }
    // SAFETY: x valid for x_len reads, y for y_len writes (contract); both fit
    // in isize and they do not overlap.
    let (x, y) = unsafe {
        (
            std::slice::from_raw_parts(x, x_len),
            std::slice::from_raw_parts_mut(y, y_len),
        )
    };
    status(match op {
        RowOp::Softmax => k.softmax_batch(x, y, &b),
        RowOp::LogSoftmax => k.log_softmax_batch(x, y, &b),
    })
}

/// See `softmax_simd_softmax_rows` in the header.
///
/// # Safety
/// As `rows_op`: `x` and `y` valid for their matrices.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn softmax_simd_softmax_rows(
    x: *const f32,
    x_stride: usize,
    y: *mut f32,
    y_stride: usize,
    rows: usize,
    cols: usize,
    temperature: f32,
) -> Status {
    // SAFETY: forwarded contract.
    guard(|| unsafe {
        rows_op(
            RowOp::Softmax,
            x,
            x_stride,
            y,
            y_stride,
            rows,
            cols,
            temperature,
        )
    })
}

/// See `softmax_simd_log_softmax_rows` in the header.
///
/// # Safety
/// As `rows_op`: `x` and `y` valid for their matrices.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn softmax_simd_log_softmax_rows(
    x: *const f32,
    x_stride: usize,
    y: *mut f32,
    y_stride: usize,
    rows: usize,
    cols: usize,
    temperature: f32,
) -> Status {
    // SAFETY: forwarded contract.
    guard(|| unsafe {
        rows_op(
            RowOp::LogSoftmax,
            x,
            x_stride,
            y,
            y_stride,
            rows,
            cols,
            temperature,
        )
    })
}

/// See `softmax_simd_argmax_rows` in the header.
///
/// # Safety
/// `x` valid for `(rows - 1) * x_stride + cols` reads, `out` for `rows`
/// writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn softmax_simd_argmax_rows(
    x: *const f32,
    x_stride: usize,
    rows: usize,
    cols: usize,
    out: *mut usize,
) -> Status {
    guard(|| {
        if x.is_null() || out.is_null() {
            return Status::NullPointer;
        }
        let Some(x_len) = matrix_len(rows, cols, x_stride) else {
            return Status::BadShape;
        };
        if rows > isize::MAX as usize / std::mem::size_of::<usize>() {
            return Status::BadShape;
        }
        if overlap(x, x_len, out, rows) {
            return Status::Overlap;
        }
        // SAFETY: x valid for x_len reads and out for rows writes (contract);
        // both sizes fit in isize (checked above).
        let (x, out) = unsafe {
            (
                std::slice::from_raw_parts(x, x_len),
                std::slice::from_raw_parts_mut(out, rows),
            )
        };
        status(kernels().argmax_batch(x, &Batch::new(rows, cols).strides(x_stride, cols), out))
    })
}
