//! Unpacking a verified archive (tar.gz for CIFAR-10, zip for CelebA) into a
//! temporary sibling of its destination, which is renamed into place last.
//! Until that rename the readers see the old state (or nothing); a process
//! killed meanwhile leaves only a hidden `.runner-unpack-*` folder, which the
//! next get removes.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::FetchError;
use super::report::Report;
use super::sources::Install;

/// Name prefix of the temporary folders archives are unpacked into.
const UNPACK_PREFIX: &str = ".runner-unpack-";

/// Name prefix of a replaced folder, between the two renames.
const OLD_PREFIX: &str = ".runner-old-";

/// Environment variable that, set to `unpack`, stops the unpacking after its
/// first entry until the process is stopped: for the tests of an interrupted
/// unpack, which then know that the process is midway.
pub const PAUSE_ENV: &str = "RUNNER_DATA_TEST_PAUSE";

/// Removes what an interrupted get left in `base`: temporary unpack folders
/// and replaced folders not yet deleted.
pub fn clean_stale(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(UNPACK_PREFIX) || name.starts_with(OLD_PREFIX) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Unpacks `archive` as `install` says into `<base>/<dir>`: first into a
/// temporary folder in `base`, checked for the files the readers need, given
/// to `finish` (which writes the marker into it), then renamed into place.
/// Returns the installed folder.
///
/// # Errors
/// [`FetchError::Archive`] for an archive that does not unpack or lacks the
/// expected files, [`FetchError::NoRoom`] / [`FetchError::Io`] for the disk,
/// [`FetchError::Interrupted`] on Ctrl-C or SIGTERM; nothing is installed
/// then and the temporary folder is removed.
pub fn unpack(
    archive: &Path,
    install: Install,
    base: &Path,
    report: &Report,
    finish: impl FnOnce(&Path) -> io::Result<()>,
) -> Result<PathBuf, FetchError> {
    let (dir, expect) = match install {
        Install::TarGz { dir, expect } | Install::Zip { dir, expect } => (dir, expect),
        Install::File => unreachable!("plain files are not unpacked"),
    };
    fs::create_dir_all(base).map_err(|e| FetchError::writing(base, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(UNPACK_PREFIX)
        .tempdir_in(base)
        .map_err(|e| FetchError::writing(base, e))?;
    report.line(format!(
        "unpacking {} into {}",
        archive.display(),
        base.join(dir).display()
    ));
    let kept = || {
        format!(
            "Nothing was installed; the verified archive {} is kept, and the same command \
             unpacks it without downloading.",
            archive.display()
        )
    };
    let mut entries = 0usize;
    let mut after_entry = || -> Result<(), FetchError> {
        entries += 1;
        FetchError::check_stop(kept)?;
        if entries == 1 && std::env::var(PAUSE_ENV).is_ok_and(|v| v == "unpack") {
            report.line(format!("unpack paused after its first entry ({PAUSE_ENV})"));
            loop {
                FetchError::check_stop(kept)?;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    };
    match install {
        Install::TarGz { .. } => untar(archive, tmp.path(), &mut after_entry)?,
        Install::Zip { .. } => unzip(archive, tmp.path(), &mut after_entry)?,
        Install::File => {}
    }
    let new = tmp.path().join(dir);
    if !new.is_dir() {
        return Err(FetchError::Archive {
            path: archive.to_owned(),
            reason: format!("it has no top folder {dir}/"),
        });
    }
    if let Some(missing) = expect.iter().find(|f| !new.join(f).is_file()) {
        return Err(FetchError::Archive {
            path: archive.to_owned(),
            reason: format!("it has no {dir}/{missing}"),
        });
    }
    finish(&new).map_err(|e| FetchError::writing(&new, e))?;
    let target = base.join(dir);
    place(&new, &target, base)?;
    Ok(target)
}

/// Renames the folder `new` to `target`, replacing what is there: the old one
/// is first renamed aside (a folder cannot be renamed over a non-empty one),
/// then removed.
fn place(new: &Path, target: &Path, base: &Path) -> Result<(), FetchError> {
    let rename = |from: &Path, to: &Path| {
        fs::rename(from, to).map_err(|e| {
            FetchError::io(
                format!("cannot rename {} to {}", from.display(), to.display()),
                e,
            )
        })
    };
    if fs::symlink_metadata(target).is_ok() {
        let aside = base.join(format!("{OLD_PREFIX}{}", std::process::id()));
        rename(target, &aside)?;
        rename(new, target)?;
        let _ = fs::remove_dir_all(&aside).or_else(|_| fs::remove_file(&aside));
    } else {
        rename(new, target)?;
    }
    sync_dir(base);
    Ok(())
}

/// Flushes a rename to disk (best effort: not every file system can).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// An error while unpacking `archive`: the disk's when it is full, the
/// archive's otherwise.
fn unpack_error(archive: &Path, into: &Path, e: io::Error) -> FetchError {
    match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge => FetchError::writing(into, e),
        _ => FetchError::Archive {
            path: archive.to_owned(),
            reason: e.to_string(),
        },
    }
}

/// Unpacks a gzipped tar into `into` (tar keeps every path inside it).
fn untar(
    archive: &Path,
    into: &Path,
    after_entry: &mut dyn FnMut() -> Result<(), FetchError>,
) -> Result<(), FetchError> {
    let file = File::open(archive)
        .map_err(|e| FetchError::io(format!("cannot open {}", archive.display()), e))?;
    let gz = flate2::read::GzDecoder::new(BufReader::with_capacity(1 << 20, file));
    let mut tar = tar::Archive::new(gz);
    let entries = tar.entries().map_err(|e| unpack_error(archive, into, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| unpack_error(archive, into, e))?;
        entry
            .unpack_in(into)
            .map_err(|e| unpack_error(archive, into, e))?;
        after_entry()?;
    }
    Ok(())
}

/// Unpacks a zip into `into`; an entry whose path would leave `into` is an
/// error.
fn unzip(
    archive: &Path,
    into: &Path,
    after_entry: &mut dyn FnMut() -> Result<(), FetchError>,
) -> Result<(), FetchError> {
    let file = File::open(archive)
        .map_err(|e| FetchError::io(format!("cannot open {}", archive.display()), e))?;
    let bad = |reason: String| FetchError::Archive {
        path: archive.to_owned(),
        reason,
    };
    let mut zip = zip::ZipArchive::new(BufReader::with_capacity(1 << 20, file))
        .map_err(|e| bad(e.to_string()))?;
    let mut buf = vec![0u8; 256 * 1024];
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(bad(format!("entry {:?} leaves the folder", entry.name())));
        };
        let path = into.join(rel);
        if entry.is_dir() {
            fs::create_dir_all(&path).map_err(|e| FetchError::writing(&path, e))?;
        } else {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| FetchError::writing(parent, e))?;
            }
            let mut out = File::create(&path).map_err(|e| FetchError::writing(&path, e))?;
            loop {
                let n = entry.read(&mut buf).map_err(|e| bad(e.to_string()))?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])
                    .map_err(|e| FetchError::writing(&path, e))?;
            }
        }
        drop(entry);
        after_entry()?;
    }
    Ok(())
}
