//! Delimited text files (CSV, TSV, UCI `.data`), read with the `csv` crate.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::{HeaderMode, RawColumn, RawTable, ReadOptions};
use crate::error::{Error, Result};

const CANDIDATE_DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];
const SNIFF_LINES: usize = 20;

/// Reads a delimited file in chunks of `chunk_rows` data rows. The header, the delimiter and
/// whether lines end in an empty field are decided from the first chunk.
pub(super) struct CsvChunks {
    path: PathBuf,
    records: ::csv::StringRecordsIntoIter<BufReader<std::fs::File>>,
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
    pub(super) fn open(path: &Path, options: &ReadOptions, chunk_rows: usize) -> Result<CsvChunks> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let delimiter = match options.delimiter {
            Some(d) => d,
            None => detect_delimiter(path)?,
        };
        let records = ::csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(BufReader::new(file))
            .into_records();
        let mut chunks = CsvChunks {
            path: path.into(),
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
            return Err(Error::EmptyFile { path: path.into() });
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
            return Err(Error::EmptyFile { path: path.into() });
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
pub(super) fn read(path: &Path, options: &ReadOptions) -> Result<RawTable> {
    let mut chunks = CsvChunks::open(path, options, usize::MAX - 1)?;
    chunks
        .next()
        .unwrap_or_else(|| Err(Error::EmptyFile { path: path.into() }))
}

/// Picks the candidate that splits the first lines into the same, largest number of fields.
fn detect_delimiter(path: &Path) -> Result<u8> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut lines = Vec::new();
    for line in BufReader::new(file.take(1 << 20)).lines().take(SNIFF_LINES) {
        match line {
            Ok(l) if !l.trim().is_empty() => lines.push(l),
            Ok(_) => {}
            // Invalid UTF-8 or a cut line at the 1 MiB limit: sniff from what we have.
            Err(_) => break,
        }
    }
    let best = CANDIDATE_DELIMITERS
        .iter()
        .filter_map(|&d| {
            let counts: Vec<usize> = lines
                .iter()
                .map(|l| l.bytes().filter(|&b| b == d).count())
                .collect();
            let first = *counts.first()?;
            (first > 0 && counts.iter().all(|&c| c == first)).then_some((d, first))
        })
        .max_by_key(|&(_, count)| count);
    Ok(best.map_or(b',', |(d, _)| d))
}

fn looks_like_header(row: &[String]) -> bool {
    row.iter()
        .all(|f| !f.is_empty() && f.parse::<f64>().is_err())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(contents: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(contents.as_bytes()).unwrap();
        f
    }

    #[test]
    fn detects_semicolon_and_header() {
        let f = write("a;b;c\n1;2;x\n3;4;y\n");
        let t = read(f.path(), &ReadOptions::default()).unwrap();
        assert!(t.has_header);
        assert_eq!(t.names, ["a", "b", "c"]);
        assert_eq!(t.n_rows(), 2);
    }

    #[test]
    fn headerless_columns_are_indices_and_trailing_delimiter_is_dropped() {
        let f = write("0.5,1,3,\n0.25,0,1,\n\n");
        let t = read(f.path(), &ReadOptions::default()).unwrap();
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
        let whole = read(f.path(), &ReadOptions::default()).unwrap();
        let chunks: Vec<RawTable> = CsvChunks::open(f.path(), &ReadOptions::default(), 3)
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
        let err = CsvChunks::open(f.path(), &ReadOptions::default(), 3)
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("data row 8 has 3 fields"), "{err}");
    }

    #[test]
    fn ragged_row_is_an_error_naming_the_row() {
        let f = write("1,2,3\n4,5\n");
        let err = read(f.path(), &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("data row 2 has 2 fields, expected 3"), "{err}");
    }
}
