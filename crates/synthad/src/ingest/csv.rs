//! Delimited text files (CSV, TSV, UCI `.data`), read with the `csv` crate.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{HeaderMode, RawColumn, RawTable, ReadOptions};
use crate::error::{Error, Result};

const CANDIDATE_DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];
const SNIFF_LINES: usize = 20;

pub(super) fn read(path: &Path, options: &ReadOptions) -> Result<RawTable> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let delimiter = match options.delimiter {
        Some(d) => d,
        None => detect_delimiter(path)?,
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(BufReader::new(file));

    let mut rows: Vec<Vec<String>> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::Parse {
            path: path.into(),
            message: format!("line {}: {e}", i + 1),
        })?;
        // Blank lines (e.g. at the end of UCI files) carry no row.
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        rows.push(record.iter().map(str::to_string).collect());
    }
    if rows.is_empty() {
        return Err(Error::EmptyFile { path: path.into() });
    }

    let has_header = match options.header {
        HeaderMode::Present => true,
        HeaderMode::Absent => false,
        HeaderMode::Auto => looks_like_header(&rows[0]),
    };
    let header = if has_header { Some(rows.remove(0)) } else { None };
    if rows.is_empty() {
        return Err(Error::EmptyFile { path: path.into() });
    }

    // A delimiter at the end of every line (UCI thyroid) adds an empty last field: drop it.
    let mut width = header.as_ref().map_or(rows[0].len(), Vec::len);
    let trailing_empty = rows.iter().all(|r| r.last().is_some_and(String::is_empty))
        && header
            .as_ref()
            .is_none_or(|h| h.len() != width || h.last().is_some_and(String::is_empty));
    if trailing_empty {
        width = rows[0].len() - 1;
    }
    for (i, row) in rows.iter_mut().enumerate() {
        if trailing_empty {
            row.pop();
        }
        if row.len() != width {
            return Err(Error::Parse {
                path: path.into(),
                message: format!(
                    "data row {} has {} fields, expected {width} (as in the {}); check the delimiter (--delimiter) and quoting",
                    i + 1,
                    row.len(),
                    if header.is_some() { "header" } else { "first row" }
                ),
            });
        }
    }

    let names: Vec<String> = match header {
        Some(mut h) => {
            h.truncate(width);
            h
        }
        None => (0..width).map(|i| i.to_string()).collect(),
    };
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(rows.len()); width];
    for row in rows {
        for (column, field) in columns.iter_mut().zip(row) {
            column.push(Some(field));
        }
    }
    Ok(RawTable {
        path: path.into(),
        names,
        has_header,
        columns: columns.into_iter().map(RawColumn::Text).collect(),
    })
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
        assert_eq!(t.columns[2], RawColumn::Text(vec![Some("3".into()), Some("1".into())]));
    }

    #[test]
    fn ragged_row_is_an_error_naming_the_row() {
        let f = write("1,2,3\n4,5\n");
        let err = read(f.path(), &ReadOptions::default()).unwrap_err().to_string();
        assert!(err.contains("data row 2 has 2 fields, expected 3"), "{err}");
    }
}
