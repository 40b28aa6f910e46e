//! The `runner data get` command that fills a reader's folder, for the
//! readers' messages about missing files.

use std::path::Path;

use super::sources::Dataset;

/// The command that installs `dataset` into `folder` (a pipeline's
/// `dataset.root`): plain for the default folder, and with `--root` for the
/// same folder name elsewhere. A folder of another name gets the plain command
/// (the messages also say to point `dataset.root` at what it installs).
pub fn get_command(dataset: Dataset, folder: &Path) -> String {
    let name = dataset.name();
    let default = dataset.folder(Path::new("data"));
    if folder == default {
        return format!("runner data get {name}");
    }
    if folder.file_name() == default.file_name() {
        if let Some(parent) = folder.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            return format!("runner data get {name} --root {}", parent.display());
        }
    }
    format!("runner data get {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_names_the_root_when_it_is_not_the_default() {
        assert_eq!(
            get_command(Dataset::Mnist, Path::new("data/mnist")),
            "runner data get mnist"
        );
        assert_eq!(
            get_command(
                Dataset::Cifar10,
                Path::new("/scratch/d/cifar-10-batches-bin")
            ),
            "runner data get cifar10 --root /scratch/d"
        );
        assert_eq!(
            get_command(Dataset::Celeba, Path::new("celeba")),
            "runner data get celeba --root ."
        );
        assert_eq!(
            get_command(Dataset::Celeba, Path::new("/x/faces")),
            "runner data get celeba"
        );
    }
}
