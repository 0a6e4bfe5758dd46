//! Where commands write: never over one of their own inputs, and checked before any work.
//!
//! Outputs are written atomically ([`synthad::atomic_file`]); this module adds the check that
//! an output path is not an input of the same command, whatever way it is spelled (`./x` and
//! `x`, a symbolic or hard link), nor another output.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use synthad::atomic_file::AtomicFile;
use synthad::ingest::STDIN;

/// What identifies a file: its device and inode where it exists, else its absolute path.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    Inode(u64, u64),
    Path(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    #[cfg(unix)]
    if let Ok(metadata) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        return Some(Identity::Inode(metadata.dev(), metadata.ino()));
    }
    if let Ok(canonical) = path.canonicalize() {
        return Some(Identity::Path(canonical));
    }
    // A file that does not exist yet: its directory's canonical path and its name.
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(Identity::Path(
        parent.canonicalize().ok()?.join(path.file_name()?),
    ))
}

/// Refuses any output that is one of the inputs, or another output. `-` (standard input or
/// output) is no file and is skipped. Each path comes with the flag that named it.
pub fn check_distinct(inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]) -> Result<()> {
    let is_file = |p: &&(&str, &Path)| p.1.as_os_str() != STDIN;
    let inputs: Vec<(&str, &Path, Option<Identity>)> = inputs
        .iter()
        .filter(is_file)
        .map(|&(flag, path)| (flag, path, identity(path)))
        .collect();
    let mut earlier: Vec<(&str, &Path, Option<Identity>)> = Vec::new();
    for &(flag, path) in outputs.iter().filter(is_file) {
        let id = identity(path);
        for (other_flag, other, other_id) in inputs.iter().chain(&earlier) {
            if id.is_some() && id == *other_id {
                let role = if inputs.iter().any(|i| i.0 == *other_flag) {
                    "input"
                } else {
                    "output"
                };
                bail!(
                    "{flag} {} is the same file as {other_flag} {}, an {role} of this command; writing it would destroy that {role}: choose another path",
                    path.display(),
                    other.display()
                );
            }
        }
        earlier.push((flag, path, id));
    }
    Ok(())
}

/// An output file, or standard output for `-`.
pub enum Output {
    Stdout(std::io::Stdout),
    File(AtomicFile),
}

impl Output {
    /// Opens the output; a file is created (as a temporary beside it) right away, so an
    /// unwritable place fails before any work.
    pub fn create(path: &Path) -> Result<Output> {
        Ok(if path.as_os_str() == STDIN {
            Output::Stdout(std::io::stdout())
        } else {
            Output::File(AtomicFile::create(path)?)
        })
    }

    /// Flushes, and puts a file in place.
    pub fn finish(self) -> Result<()> {
        match self {
            Output::Stdout(mut out) => out.flush()?,
            Output::File(file) => file.commit()?,
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(out) => out.write(buf),
            Output::File(file) => file.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::File(file) => file.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_file_is_found_however_it_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.csv");
        std::fs::write(&data, "a\n1\n").unwrap();
        let dotted = dir.path().join(".").join("data.csv");
        let err = check_distinct(&[("--data", &data)], &[("--out", &dotted)]).unwrap_err();
        assert!(err.to_string().contains("an input"), "{err}");
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&data, &link).unwrap();
            assert!(check_distinct(&[("--data", &data)], &[("--out", &link)]).is_err());
            let hard = dir.path().join("hard.csv");
            std::fs::hard_link(&data, &hard).unwrap();
            assert!(check_distinct(&[("--data", &data)], &[("--out", &hard)]).is_err());
        }
        let new = dir.path().join("new.csv");
        check_distinct(&[("--data", &data)], &[("--out", &new)]).unwrap();
        let err = check_distinct(&[], &[("--json", &new), ("--markdown", &new)]).unwrap_err();
        assert!(err.to_string().contains("an output"), "{err}");
        // Standard input and output are not files.
        check_distinct(&[("--data", Path::new("-"))], &[("--out", Path::new("-"))]).unwrap();
    }
}
