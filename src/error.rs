//! `Error`: every way a call can be refused. Nothing is written to any
//! output when one is returned.

use std::fmt;

use crate::Isa;

/// Why a call was refused. Messages name the lengths involved.
#[derive(Clone, Debug, PartialEq, Eq)]
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
