//! Delimited text files (CSV, TSV, UCI `.data`), read with the `csv` crate.

use std::io::Read;
use std::path::PathBuf;

use super::{HeaderMode, RawColumn, RawTable, ReadOptions};
use crate::error::{Error, Result};

const CANDIDATE_DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];
const SNIFF_LINES: usize = 20;

/// A text input, opened: a file or a stream (standard input, a pipe).
pub(super) struct TextInput {
    /// The file's path, or the stream's name, for messages.
    path: PathBuf,
    reader: Box<dyn Read + Send>,
}

impl TextInput {
    /// Every record read through it is bounded ([`super::bounded`]).
    pub(super) fn new(path: PathBuf, reader: Box<dyn Read + Send>) -> TextInput {
        TextInput {
            path,
            reader: Box::new(super::bounded::Bounded::records(reader)),
        }
    }
}

/// Reads delimited text in chunks of `chunk_rows` data rows. The header, the delimiter and
/// whether lines end in an empty field are decided from the first chunk.
pub(super) struct CsvChunks {
    path: PathBuf,
    records: ::csv::StringRecordsIntoIter<Box<dyn Read + Send>>,
    names: Vec<String>,
    has_header: bool,
    width: usize,
    trailing_empty: bool,
    chunk_rows: usize,
    /// Data rows handed out so far.
    emitted: usize,
    /// Rows read ahead while looking at the start of the file.
    pending: Vec<Vec<String>>,
    failed: bool,
}

impl CsvChunks {
    pub(super) fn open(
        input: TextInput,
        options: &ReadOptions,
        chunk_rows: usize,
    ) -> Result<CsvChunks> {
        let TextInput { path, mut reader } = input;
        // The delimiter is sniffed from the first lines, which are then read again: kept in
        // memory, since a stream cannot be rewound.
        let head = read_head_lines(&mut reader).map_err(|e| Error::io(&path, e))?;
        let delimiter = options.delimiter.unwrap_or_else(|| detect_delimiter(&head));
        let reader: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head).chain(reader));
        let records = ::csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(reader)
            .into_records();
        let mut chunks = CsvChunks {
            path: path.clone(),
            records,
            names: Vec::new(),
            has_header: false,
            width: 0,
            trailing_empty: false,
            chunk_rows: chunk_rows.max(1),
            emitted: 0,
            pending: Vec::new(),
            failed: false,
        };
        let mut first = chunks.read_rows(chunks.chunk_rows.saturating_add(1))?;
        if first.is_empty() {
            return Err(Error::EmptyFile { path });
        }
        chunks.has_header = match options.header {
            HeaderMode::Present => true,
            HeaderMode::Absent => false,
            HeaderMode::Auto => looks_like_header(&first[0]),
        };
        let header = if chunks.has_header {
            Some(first.remove(0))
        } else {
            None
        };
        if first.is_empty() {
            return Err(Error::EmptyFile { path });
        }
        // A delimiter at the end of every line (UCI thyroid) adds an empty last field: drop it.
        let width = header.as_ref().map_or(first[0].len(), Vec::len);
        chunks.trailing_empty = first.iter().all(|r| r.last().is_some_and(String::is_empty))
            && header
                .as_ref()
                .is_none_or(|h| h.len() != width || h.last().is_some_and(String::is_empty));
        chunks.width = if chunks.trailing_empty {
            first[0].len() - 1
        } else {
            width
        };
        chunks.names = match header {
            Some(mut h) => {
                h.truncate(chunks.width);
                h
            }
            None => (0..chunks.width).map(|i| i.to_string()).collect(),
        };
        chunks.pending = first;
        Ok(chunks)
    }

    /// Up to `n` non-blank records.
    fn read_rows(&mut self, n: usize) -> Result<Vec<Vec<String>>> {
        let mut rows = Vec::new();
        while rows.len() < n {
            let Some(record) = self.records.next() else {
                break;
            };
            let record = record.map_err(|e| Error::Parse {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
            // Blank lines (e.g. at the end of UCI files) carry no row.
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            rows.push(record.iter().map(str::to_string).collect());
        }
        Ok(rows)
    }

    fn chunk(&mut self, mut rows: Vec<Vec<String>>) -> Result<RawTable> {
        let first_row = self.emitted;
        for (i, row) in rows.iter_mut().enumerate() {
            if self.trailing_empty && row.last().is_some_and(String::is_empty) {
                row.pop();
            }
            if row.len() != self.width {
                return Err(Error::Parse {
                    path: self.path.clone(),
                    message: format!(
                        "data row {} has {} fields, expected {} (as in the {}); check the delimiter (--delimiter) and quoting",
                        first_row + i + 1,
                        row.len(),
                        self.width,
                        if self.has_header { "header" } else { "first row" }
                    ),
                });
            }
        }
        self.emitted += rows.len();
        let mut columns: Vec<Vec<Option<String>>> =
            vec![Vec::with_capacity(rows.len()); self.width];
        for row in rows {
            for (column, field) in columns.iter_mut().zip(row) {
                column.push(Some(field));
            }
        }
        Ok(RawTable {
            path: self.path.clone(),
            names: self.names.clone(),
            has_header: self.has_header,
            first_row,
            columns: columns.into_iter().map(RawColumn::Text).collect(),
        })
    }
}

impl Iterator for CsvChunks {
    type Item = Result<RawTable>;

    fn next(&mut self) -> Option<Result<RawTable>> {
        if self.failed {
            return None;
        }
        let rows = if self.pending.is_empty() {
            match self.read_rows(self.chunk_rows) {
                Ok(rows) if rows.is_empty() => return None,
                Ok(rows) => rows,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        } else {
            let take = self.pending.len().min(self.chunk_rows);
            self.pending.drain(..take).collect()
        };
        let chunk = self.chunk(rows);
        self.failed = chunk.is_err();
        Some(chunk)
    }
}

/// Reads a whole delimited file.
pub(super) fn read(input: TextInput, options: &ReadOptions) -> Result<RawTable> {
    let path = input.path.clone();
    let mut chunks = CsvChunks::open(input, options, usize::MAX - 1)?;
    chunks
        .next()
        .unwrap_or_else(|| Err(Error::EmptyFile { path }))
}

/// The first lines of the input, up to [`SNIFF_LINES`] non-blank ones or 1 MiB.
fn read_head_lines(reader: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    const LIMIT: usize = 1 << 20;
    let mut head = Vec::new();
    let mut buf = [0u8; 8192];
    while head.len() < LIMIT {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        head.extend_from_slice(&buf[..n]);
        if head.iter().filter(|&&b| b == b'\n').count() > SNIFF_LINES {
            break;
        }
    }
    Ok(head)
}

/// Picks the candidate that splits the first lines into the same, largest number of fields.
fn detect_delimiter(head: &[u8]) -> u8 {
    let lines: Vec<&str> = std::str::from_utf8(head)
        .unwrap_or_else(|e| {
            // A cut multi-byte character at the end, or invalid UTF-8: sniff what is valid.
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        })
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(SNIFF_LINES)
        .collect();
    // A last line cut at the read limit would count fewer delimiters: leave it out.
    let complete = if head.len() >= (1 << 20) && lines.len() > 1 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let best = CANDIDATE_DELIMITERS
        .iter()
        .filter_map(|&d| {
            let counts: Vec<usize> = complete
                .iter()
                .map(|l| l.bytes().filter(|&b| b == d).count())
                .collect();
            let first = *counts.first()?;
            (first > 0 && counts.iter().all(|&c| c == first)).then_some((d, first))
        })
        .max_by_key(|&(_, count)| count);
    best.map_or(b',', |(d, _)| d)
}

fn looks_like_header(row: &[String]) -> bool {
    row.iter()
        .all(|f| !f.is_empty() && f.parse::<f64>().is_err())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn input(f: &tempfile::NamedTempFile) -> TextInput {
        TextInput::new(
            f.path().into(),
            Box::new(std::fs::File::open(f.path()).unwrap()),
        )
    }

    fn write(contents: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(contents.as_bytes()).unwrap();
        f
    }

    #[test]
    fn detects_semicolon_and_header() {
        let f = write("a;b;c\n1;2;x\n3;4;y\n");
        let t = read(input(&f), &ReadOptions::default()).unwrap();
        assert!(t.has_header);
        assert_eq!(t.names, ["a", "b", "c"]);
        assert_eq!(t.n_rows(), 2);
    }

    #[test]
    fn headerless_columns_are_indices_and_trailing_delimiter_is_dropped() {
        let f = write("0.5,1,3,\n0.25,0,1,\n\n");
        let t = read(input(&f), &ReadOptions::default()).unwrap();
        assert!(!t.has_header);
        assert_eq!(t.names, ["0", "1", "2"]);
        assert_eq!(
            t.columns[2],
            RawColumn::Text(vec![Some("3".into()), Some("1".into())])
        );
    }

    #[test]
    fn chunks_cover_the_file_in_order_and_count_rows_across_chunks() {
        let mut text = String::from("a,b\n");
        for i in 0..10 {
            text.push_str(&format!("{i},x{i}\n"));
        }
        let f = write(&text);
        let whole = read(input(&f), &ReadOptions::default()).unwrap();
        let chunks: Vec<RawTable> = CsvChunks::open(input(&f), &ReadOptions::default(), 3)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(
            chunks.iter().map(RawTable::n_rows).collect::<Vec<_>>(),
            [3, 3, 3, 1]
        );
        assert_eq!(
            chunks.iter().map(|c| c.first_row).collect::<Vec<_>>(),
            [0, 3, 6, 9]
        );
        let mut joined = chunks[0].columns[1].clone();
        for c in &chunks[1..] {
            joined.extend(c.columns[1].clone());
        }
        assert_eq!(joined, whole.columns[1]);

        // A bad row in a later chunk is named by its row in the file.
        let f = write(&text.replace("\n7,x7\n", "\n7,x7,extra\n"));
        let err = CsvChunks::open(input(&f), &ReadOptions::default(), 3)
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("data row 8 has 3 fields"), "{err}");
    }

    #[test]
    fn ragged_row_is_an_error_naming_the_row() {
        let f = write("1,2,3\n4,5\n");
        let err = read(input(&f), &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("data row 2 has 2 fields, expected 3"), "{err}");
    }
}
