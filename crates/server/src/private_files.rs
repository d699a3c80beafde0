//! Files only their owner can read: the data directory 0700 and every file
//! in it 0600 (the SQLite database with its `-wal` and `-shm`, the TLS
//! keys). The signing keys in the database forge tokens for every tenant;
//! another local user must not be able to read them. Created so, and
//! corrected (with a warning) when found otherwise at start.

use std::io;
use std::path::Path;

/// The mode of a directory only its owner may enter.
pub const DIR_MODE: u32 = 0o700;
/// The mode of a file only its owner may read and write.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) 0700 if missing, then makes it and
/// the files in it private, warning for each path it corrects.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    create_private_dir(dir)?;
    correct_tree(dir)
}

/// Creates a directory 0700 if it is missing (its parents with the
/// default mode, as `mkdir -p` would).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
            other => other,
        }
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Creates `path` empty and 0600 if it does not exist; corrects its mode
/// (with a warning) if it does. An empty file is a valid new SQLite
/// database, and SQLite gives its `-wal` and `-shm` the database's mode.
pub fn ensure_private_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path)
        {
            Ok(_) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => correct(path, FILE_MODE),
            Err(err) => Err(err),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Corrects `path`'s mode if it exists (a `-wal` left by a crash).
pub fn correct_if_present(path: &Path) -> io::Result<()> {
    if path.exists() {
        correct(path, FILE_MODE)
    } else {
        Ok(())
    }
}

/// Writes `contents` to a new or truncated file that is 0600 from its
/// first byte (and corrected if it existed with another mode).
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .open(path)?;
        correct(path, FILE_MODE)?;
        file.write_all(contents)
    }
    #[cfg(not(unix))]
    {
        std::fs::File::create(path)?.write_all(contents)
    }
}

/// Whether group or others may read `path` (an operator's own key file,
/// which is warned about but left alone).
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// The directory and the files directly in it; not deeper, so a data
/// directory given by mistake (a home directory) is not rewritten whole.
fn correct_tree(dir: &Path) -> io::Result<()> {
    refuse_shared(dir)?;
    correct(dir, DIR_MODE)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        // Symlinks are left alone: what they point at is not ours to change.
        if entry.file_type()?.is_file() {
            correct(&entry.path(), FILE_MODE)?;
        }
    }
    Ok(())
}

/// A directory with the sticky bit (`/tmp`) is shared by design: making it
/// 0700 would break everyone else's use of it. Latchkey wants its own.
#[cfg(unix)]
fn refuse_shared(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if std::fs::metadata(dir)?.permissions().mode() & 0o1000 != 0 {
        return Err(io::Error::other(format!(
            "{} is a shared directory (sticky bit): give --data a directory of Latchkey's own",
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn correct(path: &Path, wanted: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode != wanted {
        tracing::warn!(
            path = %path.display(),
            "mode {mode:o} corrected to {wanted:o}: only its owner may read it"
        );
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(wanted))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn correct(_path: &Path, _wanted: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_shared_directory_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let err = ensure_private_dir(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("shared directory (sticky bit)"),
            "{err}"
        );
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o1777);
    }
}
