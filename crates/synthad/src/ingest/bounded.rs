//! Bounded reading: a text record may not grow without end, nor may a stream read whole.
//!
//! The `csv` crate buffers a record until its line ends, so an input without line breaks
//! (`/dev/zero`, a binary blob, a quote that never closes) would be buffered until the process
//! aborts. [`Bounded`] sits under the parser and fails the read once a record passes
//! [`MAX_RECORD_BYTES`], naming the line, or once the input passes a total it was given.

use std::io::Read;

/// The longest record (line, or quoted multi-line field) synthad reads: far beyond any real
/// row, and small enough to fail fast on input that has no line breaks.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// A reader that counts lines and the bytes of the current record, or only bytes in all.
pub struct Bounded<R> {
    inner: R,
    /// Whether records are text records to bound (not for binary formats).
    records: bool,
    /// Line of the current record's start, one-based.
    line: u64,
    /// Bytes since the last line break outside quotes.
    record_bytes: usize,
    in_quotes: bool,
    total: u64,
    /// What the whole input may hold, with the advice for larger inputs.
    total_limit: Option<(u64, &'static str)>,
}

impl<R: Read> Bounded<R> {
    /// Text whose records are bounded by [`MAX_RECORD_BYTES`].
    pub fn records(inner: R) -> Bounded<R> {
        Bounded {
            inner,
            records: true,
            line: 1,
            record_bytes: 0,
            in_quotes: false,
            total: 0,
            total_limit: None,
        }
    }

    /// Any input, failing once it passes `limit` bytes in all; `advice` says what to do.
    pub fn total(inner: R, limit: u64, advice: &'static str) -> Bounded<R> {
        Bounded {
            records: false,
            total_limit: Some((limit, advice)),
            ..Bounded::records(inner)
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total += n as u64;
        if let Some((limit, advice)) = self.total_limit {
            if self.total > limit {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::OutOfMemory,
                    format!(
                        "the input passes {} read whole, more than memory allows; {advice}",
                        crate::memory::human(limit)
                    ),
                ));
            }
        }
        if !self.records {
            return Ok(n);
        }
        for &b in &buf[..n] {
            match b {
                // A doubled quote inside a quoted field toggles twice: still inside.
                b'"' => self.in_quotes = !self.in_quotes,
                b'\n' if !self.in_quotes => {
                    self.line += 1;
                    self.record_bytes = 0;
                    continue;
                }
                _ => {}
            }
            self.record_bytes += 1;
            if self.record_bytes > MAX_RECORD_BYTES {
                let why = if self.in_quotes {
                    "a quote that is never closed"
                } else {
                    "no line break: is this a text file?"
                };
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "the record starting on line {} is longer than {} ({why})",
                        self.line,
                        crate::memory::human(MAX_RECORD_BYTES as u64)
                    ),
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_end_fails_naming_its_line() {
        let lines = b"a,b\n1,2\n".to_vec();
        let endless = std::io::repeat(b'x').take(MAX_RECORD_BYTES as u64 + 10);
        let mut reader = Bounded::records(std::io::Cursor::new(lines).chain(endless));
        let err = std::io::copy(&mut reader, &mut std::io::sink()).unwrap_err();
        assert!(err.to_string().contains("starting on line 3"), "{err}");
        assert!(err.to_string().contains("no line break"), "{err}");

        let quoted = b"a,\"b\n"
            .iter()
            .copied()
            .chain(std::iter::repeat_n(b'\n', MAX_RECORD_BYTES));
        let mut reader = Bounded::records(std::io::Cursor::new(quoted.collect::<Vec<u8>>()));
        let err = std::io::copy(&mut reader, &mut std::io::sink()).unwrap_err();
        assert!(err.to_string().contains("never closed"), "{err}");
    }

    #[test]
    fn ordinary_text_and_quoted_line_breaks_pass() {
        let text = "a,\"multi\nline \"\"quoted\"\"\"\n1,2\n".repeat(1000);
        let mut out = Vec::new();
        Bounded::records(text.as_bytes())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, text.as_bytes());
        let err = Bounded::total(text.as_bytes(), 100, "sample the rows")
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("sample the rows"), "{err}");
    }
}
