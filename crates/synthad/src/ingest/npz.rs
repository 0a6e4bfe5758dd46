//! NumPy `.npz` archives holding a feature matrix `X` (n × d) and optionally labels `y` (n),
//! the layout ADBench ships. Feature columns are named "0".."d-1", the labels "y".

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use npyz::{NpyFile, Order, TypeChar};

use super::{RawColumn, RawTable};
use crate::error::{Error, Result};

/// An `.npz` input, opened: a file, or a whole stream held in memory.
pub(super) enum NpzInput {
    File(PathBuf, std::fs::File),
    Bytes(PathBuf, Vec<u8>),
}

pub(super) fn read(input: NpzInput) -> Result<RawTable> {
    match input {
        NpzInput::File(path, file) => read_archive(&path, std::io::BufReader::new(file)),
        NpzInput::Bytes(path, bytes) => read_archive(&path, std::io::Cursor::new(bytes)),
    }
}

fn read_archive<R: Read + Seek>(path: &Path, reader: R) -> Result<RawTable> {
    let bad = |message: String| Error::Parse {
        path: path.into(),
        message,
    };
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|e| bad(format!("not a readable .npz archive: {e}")))?;
    let entry = match archive.by_name("X.npy") {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(bad(
                "no array named X (expected X: n × d features, y: n labels)".into(),
            ))
        }
        Err(e) => return Err(bad(format!("array X: {e}"))),
    };
    let x = NpyFile::new(entry).map_err(|e| bad(format!("array X: {e}")))?;
    let shape = x.shape().to_vec();
    if shape.len() != 2 {
        return Err(bad(format!(
            "X must be 2-dimensional, found shape {shape:?}"
        )));
    }
    let (n, d) = (shape[0] as usize, shape[1] as usize);
    // Read as f64, then split into columns of Option<f64>: 24 bytes per value at the peak.
    crate::memory::ensure_fits(
        crate::memory::product(&[n, d, 24]),
        &format!("{}: reading X ({n} × {d})", path.display()),
        "the array is larger than this machine's memory; score it in parts",
    )?;
    let order = x.order();
    let flat = read_as_f64(x).map_err(|e| bad(format!("array X: {e}")))?;
    if flat.len() != n * d {
        return Err(bad(format!(
            "array X holds {} values, but its shape {shape:?} says {}",
            flat.len(),
            n * d
        )));
    }
    let element = |row: usize, col: usize| match order {
        Order::C => flat[row * d + col],
        Order::Fortran => flat[col * n + row],
    };
    let mut columns: Vec<RawColumn> = (0..d)
        .map(|c| RawColumn::Float((0..n).map(|r| Some(element(r, c))).collect()))
        .collect();
    let mut names: Vec<String> = (0..d).map(|c| c.to_string()).collect();

    let y = match archive.by_name("y.npy") {
        Ok(entry) => Some(NpyFile::new(entry).map_err(|e| bad(format!("array y: {e}")))?),
        Err(zip::result::ZipError::FileNotFound) => None,
        Err(e) => return Err(bad(format!("array y: {e}"))),
    };
    if let Some(y) = y {
        if y.shape().iter().product::<u64>() as usize != n {
            return Err(bad(format!(
                "y has shape {:?} but X has {n} rows",
                y.shape()
            )));
        }
        let labels = read_as_f64(y).map_err(|e| bad(format!("array y: {e}")))?;
        columns.push(RawColumn::Float(labels.into_iter().map(Some).collect()));
        names.push("y".into());
    }
    Ok(RawTable {
        path: path.into(),
        names,
        has_header: true,
        first_row: 0,
        columns,
    })
}

fn read_as_f64<R: std::io::Read>(array: NpyFile<R>) -> std::result::Result<Vec<f64>, String> {
    let dtype = array.dtype();
    let npyz::DType::Plain(type_str) = &dtype else {
        return Err(format!("unsupported dtype {}", dtype.descr()));
    };
    let io = |e: std::io::Error| e.to_string();
    let values = match (type_str.type_char(), type_str.size_field()) {
        (TypeChar::Float, 8) => array.into_vec::<f64>().map_err(io)?,
        (TypeChar::Float, 4) => array
            .into_vec::<f32>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Int, 8) => array
            .into_vec::<i64>()
            .map_err(io)?
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        (TypeChar::Int, 4) => array
            .into_vec::<i32>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Int, 2) => array
            .into_vec::<i16>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Int, 1) => array
            .into_vec::<i8>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Uint, 8) => array
            .into_vec::<u64>()
            .map_err(io)?
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        (TypeChar::Uint, 4) => array
            .into_vec::<u32>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Uint, 1) => array
            .into_vec::<u8>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Bool, 1) => array
            .into_vec::<bool>()
            .map_err(io)?
            .into_iter()
            .map(|b| f64::from(u8::from(b)))
            .collect(),
        _ => return Err(format!("unsupported dtype {}", dtype.descr())),
    };
    Ok(values)
}

/// Writes `.npz` archives (entries stored uncompressed): for tests and benchmarks.
pub struct NpzWriter {
    zip: zip::ZipWriter<std::fs::File>,
}

impl NpzWriter {
    pub fn create(path: &Path) -> std::io::Result<NpzWriter> {
        Ok(NpzWriter {
            zip: zip::ZipWriter::new(std::fs::File::create(path)?),
        })
    }

    /// Adds array `name` of the given shape, its values in C (row-major) or Fortran order.
    pub fn array<T: npyz::AutoSerialize + Copy>(
        &mut self,
        name: &str,
        shape: &[u64],
        order: Order,
        values: &[T],
    ) -> std::io::Result<()> {
        use npyz::WriterBuilder;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        self.zip
            .start_file(format!("{name}.npy"), options)
            .map_err(std::io::Error::other)?;
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .order(order)
            .writer(&mut self.zip)
            .begin_nd()?;
        writer.extend(values.iter().copied())?;
        writer.finish()
    }

    pub fn finish(self) -> std::io::Result<()> {
        self.zip.finish().map_err(std::io::Error::other)?;
        Ok(())
    }
}
