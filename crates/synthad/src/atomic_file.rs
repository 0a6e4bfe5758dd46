//! Output files that appear whole or not at all.
//!
//! Every file synthad writes (models, scores, synthetic rows, plots, bench reports) is written
//! to a temporary file beside its target and renamed over it only when complete, so a crash, a
//! `kill -9` or a full disk never leaves a partial file under the target's name, and an old file
//! stays intact until the new one is ready. The temporary file is named after its target,
//! `.NAME.XXXXXX.partial`: hidden, and with a suffix no reader mistakes for output, so one left
//! behind by a killed process is easy to recognise and delete.
//!
//! Permissions follow ordinary tools: a new file gets 0666 less the umask, and a file that is
//! replaced keeps its mode.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The suffix of temporary files; see the module documentation.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// A file being written; [`AtomicFile::commit`] puts it in place. Dropped without a commit, it
/// is deleted and the target is untouched.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    writer: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    /// Creates the temporary file beside `target`. Creating it up front is also the check that
    /// the target's directory is writable, before any long work starts.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let name = target.file_name().ok_or_else(|| {
            Error::io(
                target,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a file name; give a path to a file",
                ),
            )
        })?;
        if target.is_dir() {
            return Err(Error::io(
                target,
                std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    "is a directory; give a path to a file",
                ),
            ));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(PARTIAL_SUFFIX);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // open(2) applies the umask to this mode, as for any file a shell creates.
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let cannot = |why: String| {
            Error::io(
                target,
                std::io::Error::other(format!("cannot create a file in {}: {why}", dir.display())),
            )
        };
        if !dir.is_dir() {
            return Err(cannot("no such directory".into()));
        }
        // tempfile's message repeats the temporary path; the kind says what matters.
        let tmp = builder
            .tempfile_in(dir)
            .map_err(|e| cannot(e.kind().to_string()))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            writer: BufWriter::new(tmp),
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        let tmp = self
            .writer
            .into_inner()
            .map_err(|e| Error::io(&target, e.into_error()))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(&target, e))?;
        keep_mode_of_replaced(tmp.as_file(), &target)?;
        tmp.persist(&target)
            .map_err(|e| Error::io(&target, e.error))?;
        sync_parent(&target);
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// Writes `bytes` to `target` atomically.
pub fn write(target: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(target)?;
    file.write_all(bytes).map_err(|e| Error::io(target, e))?;
    file.commit()
}

/// A file that replaces another keeps the other's mode, as `>` in a shell does.
fn keep_mode_of_replaced(file: &File, target: &Path) -> Result<()> {
    #[cfg(unix)]
    if let Ok(old) = std::fs::metadata(target) {
        if old.is_file() {
            file.set_permissions(old.permissions())
                .map_err(|e| Error::io(target, e))?;
        }
    }
    let _ = (file, target);
    Ok(())
}

/// Makes the rename durable. Best effort: some file systems cannot sync a directory.
fn sync_parent(target: &Path) {
    #[cfg(unix)]
    {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    let _ = target;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partials(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(PARTIAL_SUFFIX))
            .collect()
    }

    #[test]
    fn the_target_appears_only_on_commit_and_an_abandoned_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, "old").unwrap();
        let mut file = AtomicFile::create(&target).unwrap();
        file.write_all(b"new").unwrap();
        file.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        let names = partials(dir.path());
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with(".out.csv."), "{names:?}");
        drop(file);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        assert!(partials(dir.path()).is_empty());

        write(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert!(partials(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn modes_follow_the_umask_and_a_replaced_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // The umask of this process, without changing it: /proc/self/status has it.
        let umask = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            });
        let fresh = dir.path().join("fresh");
        write(&fresh, b"x").unwrap();
        if let Some(umask) = umask {
            assert_eq!(mode(&fresh), 0o666 & !umask);
        }
        let shared = dir.path().join("shared");
        std::fs::write(&shared, "x").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&shared, b"y").unwrap();
        assert_eq!(mode(&shared), 0o644);
    }

    #[test]
    fn a_directory_or_an_unwritable_place_is_refused_at_creation() {
        let dir = tempfile::tempdir().unwrap();
        let err = AtomicFile::create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("directory"), "{err}");
        let err = AtomicFile::create(&dir.path().join("no/such/dir/f"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot create a file in"), "{err}");
    }
}
