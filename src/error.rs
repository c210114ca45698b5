//! `Error`: every way a call can be refused. Nothing is written to any
//! output when one is returned.

use std::fmt;

use crate::Isa;

/// Why a call was refused. Messages name the lengths involved.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The output's length differs from the input's.
    LengthMismatch {
        /// `x.len()`.
        x_len: usize,
        /// `y.len()`.
        y_len: usize,
    },
    /// `cols == 0` with a non-empty input.
    ZeroCols {
        /// `x.len()`.
        x_len: usize,
    },
    /// The input's length is not a multiple of `cols`.
    RaggedRows {
        /// `x.len()`.
        x_len: usize,
        /// `cols`.
        cols: usize,
    },
    /// The per-row output's length is not the number of rows.
    RowCountMismatch {
        /// `out.len()`.
        out_len: usize,
        /// `x.len() / cols`.
        rows: usize,
    },
    /// A row stride is shorter than a row.
    StrideTooShort {
        /// `"x_stride"` or `"y_stride"`.
        name: &'static str,
        /// The stride.
        stride: usize,
        /// `cols`.
        cols: usize,
    },
    /// A slice is too short for its rows.
    TooShort {
        /// `"x"` or `"y"`.
        name: &'static str,
        /// Its length.
        len: usize,
        /// `(rows - 1) * stride + cols`.
        needed: usize,
        /// `rows`.
        rows: usize,
        /// `cols`.
        cols: usize,
        /// The stride.
        stride: usize,
    },
    /// In place, input and output rows are the same rows: one stride.
    InPlaceStrides {
        /// The input stride.
        x_stride: usize,
        /// The output stride.
        y_stride: usize,
    },
    /// A temperature that is not finite and positive.
    BadTemperature(f32),
    /// This CPU cannot run the level.
    Unavailable(Isa),
    /// Not the name of a level.
    UnknownIsa(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch { x_len, y_len } => {
                write!(f, "y.len() = {y_len} != x.len() = {x_len}")
            }
            Error::ZeroCols { x_len } => {
                write!(
                    f,
                    "cols = 0 with x.len() = {x_len} (a non-empty matrix needs cols > 0)"
                )
            }
            Error::RaggedRows { x_len, cols } => write!(
                f,
                "x.len() = {x_len} is not a multiple of cols = {cols} (remainder {})",
                x_len % cols
            ),
            Error::RowCountMismatch { out_len, rows } => {
                write!(f, "out.len() = {out_len} != rows = {rows} (x.len() / cols)")
            }
            Error::StrideTooShort { name, stride, cols } => {
                write!(f, "{name} = {stride} < cols = {cols}")
            }
            Error::TooShort {
                name,
                len,
                needed,
                rows,
                cols,
                stride,
            } => write!(
                f,
                "{name}.len() = {len} < {needed} = (rows - 1) * stride + cols \
                 for rows = {rows}, cols = {cols}, stride = {stride}"
            ),
            Error::InPlaceStrides { x_stride, y_stride } => write!(
                f,
                "in place needs one stride, got x_stride = {x_stride} != y_stride = {y_stride}"
            ),
            Error::BadTemperature(t) => {
                write!(f, "temperature = {t}: must be finite and greater than 0")
            }
            Error::Unavailable(isa) => write!(
                f,
                "this CPU cannot run the {isa} level (available: {})",
                Isa::available()
                    .iter()
                    .map(|i| i.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Error::UnknownIsa(s) => write!(
                f,
                "unknown level {s:?} (expected one of: scalar, portable, avx2, avx512, neon)"
            ),
        }
    }
}

impl std::error::Error for Error {}
