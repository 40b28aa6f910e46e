//! `runner data get NAME`: each file of the dataset is taken from where it
//! already is and verified, or downloaded (resumably) and verified, then
//! moved or unpacked into place; the marker is written last.

use std::fs;
use std::path::{Path, PathBuf};

use super::download::{self, Source};
use super::error::FetchError;
use super::report::Report;
use super::sources::{
    drive_base, drive_url, mirror_url, Checksums, Dataset, Install, Origin, Resource,
};
use super::unpack;
use super::verify::{self, md5_file, Marker, Verified};

/// Name of the folder under `--root` that holds downloads in progress
/// (`*.part`), verified archives not yet unpacked, and refused files
/// (`*.corrupt`).
pub const DOWNLOADS: &str = "downloads";

/// What `runner data get` was asked for.
#[derive(Debug, Clone)]
pub struct GetOptions {
    /// The data folder (`data` by default): datasets go into their reader's
    /// default folder under it.
    pub root: PathBuf,
    /// Base URLs that replace the official sources, tried in order.
    pub mirrors: Vec<String>,
}

/// Checks that `root` is, or can become, a folder.
///
/// # Errors
/// [`FetchError::Input`] when it, or the nearest existing folder above it,
/// is a file.
pub fn check_root(root: &Path) -> Result<(), FetchError> {
    let existing = root
        .ancestors()
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .find(|a| fs::symlink_metadata(a).is_ok())
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        let what = if existing == root {
            "it is a file, not a folder".to_string()
        } else {
            format!("{} is a file, not a folder", existing.display())
        };
        return Err(FetchError::Input(format!(
            "--root {}: {what}",
            root.display()
        )));
    }
    Ok(())
}

/// Gets `dataset` into `options.root`, verified.
///
/// # Errors
/// See [`FetchError`]: whatever fails leaves the old state or a resumable
/// partial download, never a tree the readers accept that was not verified.
pub fn get(dataset: Dataset, options: &GetOptions, report: &Report) -> Result<(), FetchError> {
    check_root(&options.root)?;
    let sums = Checksums::from_env()?;
    let name = dataset.name();
    let folder = dataset.folder(&options.root);
    if verify::is_verified(dataset, &options.root, &sums) {
        report.line(format!(
            "{name}: already present and verified in {}; nothing to download",
            folder.display()
        ));
        return Ok(());
    }
    report.line(format!(
        "{name}: about {} into {} (terms of use: {})",
        dataset.size(),
        folder.display(),
        dataset.terms()
    ));
    if let Some(from) = &sums.from {
        report.line(format!(
            "{name}: checksums from {} ({})",
            from.display(),
            super::sources::CHECKSUMS_ENV
        ));
    }
    let base = dataset.base(&options.root);
    fs::create_dir_all(&base).map_err(|e| FetchError::writing(&base, e))?;
    unpack::clean_stale(&base);
    let fetcher = Fetcher {
        agent: download::agent(),
        downloads: options.root.join(DOWNLOADS),
        mirrors: &options.mirrors,
        report,
    };
    let mut verified: Vec<Verified> = Vec::new();
    for resource in dataset.resources() {
        let md5 = sums.md5(resource);
        if resource.install == Install::File {
            let dest = base.join(resource.file);
            if dest.is_file() && md5_file(&dest).is_ok_and(|got| got == md5) {
                report.line(format!("{}: already present and verified", resource.file));
                verified.push(Verified {
                    file: resource.file.to_string(),
                    md5,
                    source: "already present".to_string(),
                });
                continue;
            }
        }
        let (archive, source) = fetcher.obtain(resource, &md5)?;
        let entry = Verified {
            file: resource.file.to_string(),
            md5,
            source,
        };
        match resource.install {
            Install::File => {
                move_into(&archive, &base.join(resource.file))?;
                unpack::sync_dir(&base);
            }
            Install::TarGz { dir, .. } | Install::Zip { dir, .. } => {
                // When the archive's folder is the dataset's folder, the marker
                // goes in before the rename, so that it arrives with the files.
                let inside = base.join(dir) == folder;
                let mut all = verified.clone();
                all.push(entry.clone());
                unpack::unpack(&archive, resource.install, &base, report, |new| {
                    if inside {
                        Marker::new(dataset, all).write(new)
                    } else {
                        Ok(())
                    }
                })?;
                // The unpacked files are what is kept; the archive is not needed.
                let _ = fs::remove_file(&archive);
            }
        }
        verified.push(entry);
    }
    Marker::new(dataset, verified)
        .write(&folder)
        .map_err(|e| FetchError::writing(&folder, e))?;
    let _ = fs::remove_dir(&fetcher.downloads);
    let n = dataset.resources().len();
    report.line(format!(
        "{name}: ready in {} ({n} file{} verified)",
        folder.display(),
        if n == 1 { "" } else { "s" }
    ));
    Ok(())
}

/// Obtains verified files for one get.
struct Fetcher<'a> {
    agent: ureq::Agent,
    downloads: PathBuf,
    mirrors: &'a [String],
    report: &'a Report,
}

impl Fetcher<'_> {
    /// The sources of `resource`: the mirrors when given (they replace the
    /// official sources), the official ones otherwise.
    fn sources(&self, resource: &Resource) -> Vec<Source> {
        if !self.mirrors.is_empty() {
            return self
                .mirrors
                .iter()
                .map(|m| Source {
                    url: mirror_url(m, resource),
                    drive_id: None,
                })
                .collect();
        }
        resource
            .origins
            .iter()
            .map(|o| match o {
                Origin::Url(url) => Source {
                    url: url.to_string(),
                    drive_id: None,
                },
                Origin::Drive(id) => Source {
                    url: drive_url(&drive_base(), id),
                    drive_id: Some(id.to_string()),
                },
            })
            .collect()
    }

    /// `resource` verified in the downloads folder, and where it came from:
    /// a file already there is verified, otherwise it is downloaded (resuming
    /// a `.part`), verified, and renamed from `.part` to its name.
    fn obtain(&self, resource: &Resource, md5: &str) -> Result<(PathBuf, String), FetchError> {
        let file = resource.file;
        let done = self.downloads.join(file);
        let corrupt = self.downloads.join(format!("{file}.corrupt"));
        fs::create_dir_all(&self.downloads).map_err(|e| FetchError::writing(&self.downloads, e))?;
        if done.is_file() {
            self.report.line(format!(
                "{file}: found in {}; verifying",
                self.downloads.display()
            ));
            let got = md5_file(&done)
                .map_err(|e| FetchError::io(format!("cannot read {}", done.display()), e))?;
            if got == md5 {
                return Ok((done, format!("{DOWNLOADS}/{file}")));
            }
            return Err(set_aside(
                &done,
                &corrupt,
                file,
                &done.display().to_string(),
                md5,
                got,
            ));
        }
        let part = self.downloads.join(format!("{file}.part"));
        let sources = self.sources(resource);
        let mut reasons = Vec::new();
        let mut quota = false;
        for (i, source) in sources.iter().enumerate() {
            self.report
                .line(format!("{file}: downloading {}", source.url));
            match download::download(&self.agent, source, &part, file, self.report) {
                Ok(()) => {
                    let got = md5_file(&part).map_err(|e| {
                        FetchError::io(format!("cannot read {}", part.display()), e)
                    })?;
                    if got != md5 {
                        return Err(set_aside(&part, &corrupt, file, &source.url, md5, got));
                    }
                    self.report.line(format!("{file}: md5 {got} verified"));
                    fs::rename(&part, &done).map_err(|e| {
                        FetchError::io(
                            format!("cannot rename {} to {}", part.display(), done.display()),
                            e,
                        )
                    })?;
                    unpack::sync_dir(&self.downloads);
                    return Ok((done, source.url.clone()));
                }
                Err(FetchError::Source {
                    url,
                    reason,
                    quota: q,
                }) => {
                    let next = if i + 1 < sources.len() {
                        "; trying the next source"
                    } else {
                        ""
                    };
                    self.report.line(format!("{file}: {url}: {reason}{next}"));
                    reasons.push(format!("  {url}: {reason}"));
                    quota |= q;
                }
                Err(other) => return Err(other),
            }
        }
        Err(FetchError::AllSourcesFailed {
            file: file.to_string(),
            reasons: reasons.join("\n"),
            hint: self.hint(file, &done, &part, quota),
        })
    }

    /// What to do when no source gave the file.
    fn hint(&self, file: &str, done: &Path, part: &Path, quota: bool) -> String {
        let partial = fs::metadata(part).map_or(0, |m| m.len());
        let kept = if partial > 0 {
            format!(
                " The partial download {} ({partial} bytes) is kept and resumes.",
                part.display()
            )
        } else {
            String::new()
        };
        if quota {
            format!(
                "\nGoogle Drive limits how often a file may be downloaded: try again in a \
                 day, or download {file} by hand from the CelebA site (its Google Drive \
                 folder) and put it at {}; `runner data get celeba` then verifies and \
                 unpacks it.{kept}",
                done.display()
            )
        } else {
            format!(
                "\nCheck the network and run the same command again, use --mirror URL for \
                 another copy, or put {file} at {} by hand (it is verified before use).{kept}",
                done.display()
            )
        }
    }
}

/// Moves the verified file `from` to `to`. A dataset folder is often a link to
/// another file system (a scratch disk), where a rename cannot reach: the file
/// is then copied atomically (a temporary file renamed into place) and the
/// original removed.
fn move_into(from: &Path, to: &Path) -> Result<(), FetchError> {
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let mut src = fs::File::open(from)
                .map_err(|e| FetchError::io(format!("cannot read {}", from.display()), e))?;
            crate::atomic::write_atomic_with(to, |w| std::io::copy(&mut src, w).map(|_| ()))
                .map_err(|e| FetchError::writing(to, e))?;
            let _ = fs::remove_file(from);
            Ok(())
        }
        Err(e) => Err(FetchError::io(
            format!("cannot move {} to {}", from.display(), to.display()),
            e,
        )),
    }
}

/// Moves a file that failed its checksum to `corrupt` (out of the way, kept
/// for inspection) and returns the error.
fn set_aside(
    path: &Path,
    corrupt: &Path,
    file: &str,
    url: &str,
    md5: &str,
    got: String,
) -> FetchError {
    if let Err(e) = fs::rename(path, corrupt) {
        return FetchError::io(
            format!("cannot rename {} to {}", path.display(), corrupt.display()),
            e,
        );
    }
    FetchError::Checksum {
        file: file.to_string(),
        url: url.to_string(),
        expected: md5.to_string(),
        got,
        corrupt: corrupt.to_owned(),
    }
}
