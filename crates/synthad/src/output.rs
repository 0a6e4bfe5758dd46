//! Where synthad writes: one policy for every output of every command and of the bindings.
//!
//! - A regular file (or a new one) is written to a temporary file beside it,
//!   `.NAME.XXXXXX.partial`, and renamed over it only when complete, so a crash, a `kill -9` or
//!   a full disk never leaves a partial file under the target's name and an old file stays
//!   intact until the new one is ready. A replaced file keeps its mode; a new one gets 0666 less
//!   the umask, as a shell redirection does.
//! - A symbolic link is followed, never replaced: the output is staged beside the file it
//!   points to and copied into that file once complete, so the link stays a link and the file
//!   keeps its inode, owner, mode and other links. A link to nothing is refused.
//! - A character device or a named pipe (`/dev/null`, a FIFO) is written through; renaming over
//!   it would replace a device node (as root, `--out /dev/null` used to leave a regular file in
//!   /dev).
//! - `-`, `/dev/stdout` and `/dev/fd/1` are standard output, `/dev/stderr` standard error.
//!   A binary output (a model, an ONNX graph, a PNG) to a terminal is refused.
//! - Directories, block devices and sockets are refused.
//!
//! [`check_distinct`] refuses an output that is one of the command's inputs, however spelled.
//! Temporary files are registered while they exist, so a signal handler can delete them
//! ([`remove_temporaries`]).

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The suffix of temporary files; see the module documentation.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// The path that means standard input or output.
pub const STDIO: &str = "-";

/// Temporary files that exist now, for [`remove_temporaries`].
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn register_temporary(path: &Path) {
    if let Ok(mut t) = TEMPORARIES.lock() {
        t.push(path.to_path_buf());
    }
}

fn unregister_temporary(path: &Path) {
    if let Ok(mut t) = TEMPORARIES.lock() {
        t.retain(|p| p != path);
    }
}

/// Deletes every temporary file synthad is writing now (partial outputs, spooled input). For a
/// front end's SIGINT/SIGTERM handling, right before the process ends.
pub fn remove_temporaries() {
    let paths = match TEMPORARIES.lock() {
        Ok(mut t) => std::mem::take(&mut *t),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
}

/// What an output path names, decided before any work.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    Stdout,
    Stderr,
    /// A regular file or a new one: staged and renamed over.
    Replace(PathBuf),
    /// The regular file a symbolic link points to: staged and copied into.
    ThroughLink {
        link: PathBuf,
        file: PathBuf,
    },
    /// A character device or a named pipe: written as it goes.
    Stream(PathBuf),
}

fn refuse(path: &Path, kind: std::io::ErrorKind, why: &str) -> Error {
    Error::io(path, std::io::Error::new(kind, why.to_string()))
}

fn destination(path: &Path) -> Result<Destination> {
    let text = path.as_os_str();
    if text == STDIO || text == "/dev/stdout" || text == "/dev/fd/1" || text == "/proc/self/fd/1" {
        return Ok(Destination::Stdout);
    }
    if text == "/dev/stderr" || text == "/dev/fd/2" || text == "/proc/self/fd/2" {
        return Ok(Destination::Stderr);
    }
    if path.file_name().is_none() {
        return Err(refuse(
            path,
            std::io::ErrorKind::InvalidInput,
            "not a file name; give a path to a file",
        ));
    }
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Destination::Replace(path.to_path_buf()))
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let (real, metadata) = if metadata.file_type().is_symlink() {
        let real = path.canonicalize().map_err(|_| {
            refuse(
                path,
                std::io::ErrorKind::NotFound,
                "is a symbolic link to nothing; remove the link or give another path",
            )
        })?;
        let metadata = std::fs::metadata(&real).map_err(|e| Error::io(&real, e))?;
        (Some(real), metadata)
    } else {
        (None, metadata)
    };
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(match real {
            Some(file) => Destination::ThroughLink {
                link: path.to_path_buf(),
                file,
            },
            None => Destination::Replace(path.to_path_buf()),
        });
    }
    if kind.is_dir() {
        return Err(refuse(
            path,
            std::io::ErrorKind::IsADirectory,
            "is a directory; give a path to a file",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() || kind.is_fifo() {
            return Ok(Destination::Stream(
                real.unwrap_or_else(|| path.to_path_buf()),
            ));
        }
    }
    Err(refuse(
        path,
        std::io::ErrorKind::InvalidInput,
        "is a block device or a socket, not a file synthad writes; give a path to a file",
    ))
}

/// Keeps a temporary file's path registered while it lives.
#[derive(Debug)]
pub(crate) struct Registered(PathBuf);

impl Registered {
    pub(crate) fn new(path: &Path) -> Registered {
        register_temporary(path);
        Registered(path.to_path_buf())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        unregister_temporary(&self.0);
    }
}

/// A temporary file beside a target, deleted unless persisted.
#[derive(Debug)]
struct Staged {
    target: PathBuf,
    writer: BufWriter<NamedTempFile>,
    _registered: Registered,
}

impl Staged {
    /// Creating it up front is also the check that the directory is writable.
    fn create(target: &Path) -> Result<Staged> {
        let name = target.file_name().expect("checked by `destination`");
        let dir = directory_of(target);
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
        Ok(Staged {
            target: target.to_path_buf(),
            _registered: Registered::new(tmp.path()),
            writer: BufWriter::new(tmp),
        })
    }

    /// Flushed and synced; still registered until the caller has put it in place.
    fn finish(self) -> Result<(NamedTempFile, Registered)> {
        let Staged {
            target,
            writer,
            _registered,
        } = self;
        let tmp = writer
            .into_inner()
            .map_err(|e| Error::io(&target, e.into_error()))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(&target, e))?;
        Ok((tmp, _registered))
    }
}

/// An output being written; [`Output::commit`] completes it. Dropped without a commit, a staged
/// file is deleted and its target untouched.
#[derive(Debug)]
pub struct Output {
    /// The path as given, for messages.
    path: PathBuf,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Stdout(std::io::Stdout),
    Stderr(std::io::Stderr),
    Replace(Staged),
    ThroughLink(Staged),
    Stream(BufWriter<File>),
}

impl Output {
    /// Opens a text output (scores, reports, synthetic rows) by the policy above.
    pub fn create(path: &Path) -> Result<Output> {
        Output::open(path, false)
    }

    /// Opens a binary output (a model file, an ONNX graph, an image): as [`Output::create`],
    /// but a terminal is refused.
    pub fn create_binary(path: &Path) -> Result<Output> {
        Output::open(path, true)
    }

    fn open(path: &Path, binary: bool) -> Result<Output> {
        let destination = destination(path)?;
        let terminal = match destination {
            Destination::Stdout => std::io::stdout().is_terminal(),
            Destination::Stderr => std::io::stderr().is_terminal(),
            _ => false,
        };
        if binary && terminal {
            return Err(refuse(
                path,
                std::io::ErrorKind::InvalidInput,
                "is a terminal, and this output is binary; redirect it to a file or give a file path",
            ));
        }
        let sink = match destination {
            Destination::Stdout => Sink::Stdout(std::io::stdout()),
            Destination::Stderr => Sink::Stderr(std::io::stderr()),
            Destination::Replace(target) => Sink::Replace(Staged::create(&target)?),
            Destination::ThroughLink { file, .. } => Sink::ThroughLink(Staged::create(&file)?),
            Destination::Stream(device) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&device)
                    .map_err(|e| Error::io(&device, e))?;
                Sink::Stream(BufWriter::new(file))
            }
        };
        Ok(Output {
            path: path.to_path_buf(),
            sink,
        })
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file a staged output will become, or `None` for a stream.
    pub fn staged_target(&self) -> Option<&Path> {
        match &self.sink {
            Sink::Replace(s) | Sink::ThroughLink(s) => Some(&s.target),
            _ => None,
        }
    }

    /// Flushes and puts the output in place: renames a staged file over its target, or copies
    /// it into the file a link points to.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        match self.sink {
            Sink::Stdout(mut out) => out.flush().map_err(|e| Error::io(&path, e)),
            Sink::Stderr(mut out) => out.flush().map_err(|e| Error::io(&path, e)),
            Sink::Stream(mut out) => out.flush().map_err(|e| Error::io(&path, e)),
            Sink::Replace(staged) => {
                let target = staged.target.clone();
                let (tmp, registered) = staged.finish()?;
                keep_mode_of_replaced(tmp.as_file(), &target)?;
                tmp.persist(&target)
                    .map_err(|e| Error::io(&target, e.error))?;
                drop(registered);
                sync_parent(&target);
                Ok(())
            }
            Sink::ThroughLink(staged) => {
                let target = staged.target.clone();
                let (mut tmp, _registered) = staged.finish()?;
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&target)
                    .map_err(|e| Error::io(&target, e))?;
                tmp.as_file_mut()
                    .rewind()
                    .and_then(|_| std::io::copy(tmp.as_file_mut(), &mut file))
                    .and_then(|_| file.sync_all())
                    .map_err(|e| Error::io(&target, e))?;
                Ok(())
            }
        }
    }
}

impl Output {
    fn writer(&mut self) -> &mut dyn Write {
        match &mut self.sink {
            Sink::Stdout(out) => out,
            Sink::Stderr(out) => out,
            Sink::Replace(s) | Sink::ThroughLink(s) => &mut s.writer,
            Sink::Stream(out) => out,
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.writer().write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer().flush()
    }
}

/// Writes a binary output whole (see [`Output::create_binary`]).
pub fn write(target: &Path, bytes: &[u8]) -> Result<()> {
    let mut out = Output::create_binary(target)?;
    out.write_all(bytes).map_err(|e| Error::io(target, e))?;
    out.commit()
}

/// Writes a text output whole (see [`Output::create`]).
pub fn write_text(target: &Path, text: &str) -> Result<()> {
    let mut out = Output::create(target)?;
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io(target, e))?;
    out.commit()
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
        let dir = directory_of(target);
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    let _ = target;
}

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
    absolute(path).map(Identity::Path)
}

/// The directory a path's file is in (`.` for a bare name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The canonical path of a file, or for one that does not exist yet, its directory's canonical
/// path and its name.
fn absolute(path: &Path) -> Option<PathBuf> {
    path.canonicalize().ok().or_else(|| {
        Some(
            directory_of(path)
                .canonicalize()
                .ok()?
                .join(path.file_name()?),
        )
    })
}

/// Whether writing to `path` writes a file (not standard output or a device, which destroy
/// nothing when written through).
fn is_file_output(path: &Path) -> bool {
    matches!(
        destination(path),
        Ok(Destination::Replace(_) | Destination::ThroughLink { .. }) | Err(_)
    )
}

/// Refuses any output that is one of the inputs, or another output, however spelled (`./x`,
/// a symbolic or hard link). Standard input and output and devices are skipped. Each path
/// comes with the flag that named it.
pub fn check_distinct(inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]) -> Result<()> {
    let inputs: Vec<(&str, &Path, Option<Identity>)> = inputs
        .iter()
        .filter(|p| p.1.as_os_str() != STDIO)
        .map(|&(flag, path)| (flag, path, identity(path)))
        .collect();
    let mut earlier: Vec<(&str, &Path, Option<Identity>)> = Vec::new();
    for &(flag, path) in outputs.iter().filter(|p| is_file_output(p.1)) {
        let id = identity(path);
        for (other_flag, other, other_id) in inputs.iter().chain(&earlier) {
            if id.is_some() && id == *other_id {
                let role = if inputs.iter().any(|i| i.0 == *other_flag) {
                    "input"
                } else {
                    "output"
                };
                return Err(Error::OutputClash(format!(
                    "{flag} {} is the same file as {other_flag} {}, an {role} of this command; writing it would destroy that {role}: choose another path",
                    path.display(),
                    other.display()
                )));
            }
        }
        earlier.push((flag, path, id));
    }
    Ok(())
}

/// Refuses an output inside a directory the command reads (bench's `--data-dir`).
pub fn check_outside(dir_flag: &str, dir: &Path, outputs: &[(&str, &Path)]) -> Result<()> {
    let Ok(dir_real) = dir.canonicalize() else {
        return Ok(());
    };
    for &(flag, path) in outputs.iter().filter(|p| is_file_output(p.1)) {
        if absolute(path).is_some_and(|r| r.starts_with(&dir_real)) {
            return Err(Error::OutputClash(format!(
                "{flag} {} is inside {dir_flag} {}, which holds this command's input data; writing there could destroy it: choose a path outside it",
                path.display(),
                dir.display()
            )));
        }
    }
    Ok(())
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
        let mut file = Output::create(&target).unwrap();
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

    #[cfg(unix)]
    #[test]
    fn a_link_is_written_through_and_its_file_keeps_its_inode() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("real.csv");
        std::fs::write(&file, "old").unwrap();
        let inode = std::fs::metadata(&file).unwrap().ino();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        write_text(&link, "new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
        assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode);
        assert!(partials(dir.path()).is_empty());

        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nothing"), &dangling).unwrap();
        let err = Output::create(&dangling).unwrap_err().to_string();
        assert!(err.contains("symbolic link to nothing"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_through_never_replaced() {
        write_text(Path::new("/dev/null"), "x").unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        assert_eq!(
            destination(Path::new("/dev/stdout")).unwrap(),
            Destination::Stdout
        );
    }

    #[test]
    fn a_directory_or_an_unwritable_place_is_refused_at_creation() {
        let dir = tempfile::tempdir().unwrap();
        let err = Output::create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("directory"), "{err}");
        let err = Output::create(&dir.path().join("no/such/dir/f"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot create a file in"), "{err}");
    }

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

        let inside = dir.path().join("report.json");
        let err = check_outside("--data-dir", dir.path(), &[("--json", &inside)]).unwrap_err();
        assert!(err.to_string().contains("is inside --data-dir"), "{err}");
    }
}
