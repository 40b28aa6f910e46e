//! `runner data get NAME` and `runner data list` (their logic in
//! [`crate::fetch`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::fetch::report::Report;
use crate::fetch::sources::Checksums;
use crate::fetch::{Dataset, FetchError, GetOptions};

/// `runner data ...`.
#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Download a dataset, verify it and install it where the pipelines read it.
    ///
    /// mnist: the four IDX files into ROOT/mnist. cifar10: the binary version,
    /// unpacked into ROOT/cifar-10-batches-bin. celeba: the aligned images and
    /// the partition list into ROOT/celeba (from Google Drive). Each file is
    /// checked against its published MD5 before it is used; a download that
    /// stops resumes with the same command; files already present and verified
    /// are not downloaded again. Downloads in progress live in ROOT/downloads.
    /// See docs/data.md for the sizes, terms of use and the manual layout.
    ///
    /// Exit status: 0 done, 1 a download or check failed, 2 bad input, 130/143
    /// stopped by Ctrl-C/SIGTERM (what was downloaded is kept for the next try).
    /// For tests: RUNNER_DATA_CHECKSUMS (an md5sum-style file replacing the
    /// published checksums) and RUNNER_DATA_DRIVE_URL (Google Drive's endpoint).
    Get(GetArgs),
    /// List the datasets, where the pipelines expect them, and whether they are
    /// there and verified.
    List(ListArgs),
}

/// `runner data get`.
#[derive(Debug, Args)]
struct GetArgs {
    /// The dataset.
    #[arg(value_enum)]
    name: Dataset,
    /// The data folder; each dataset goes into its default folder under it.
    #[arg(long, default_value = "data")]
    root: PathBuf,
    /// Base URL of a copy of the dataset's files (served under their file
    /// names), instead of the official sources; repeat it to try several in
    /// order. The published checksums still apply.
    #[arg(long = "mirror", value_name = "URL")]
    mirrors: Vec<String>,
}

/// `runner data list`.
#[derive(Debug, Args)]
struct ListArgs {
    /// The data folder.
    #[arg(long, default_value = "data")]
    root: PathBuf,
}

/// Runs `runner data ...` and returns the exit code.
pub fn data(args: &DataArgs) -> i32 {
    let result = match &args.command {
        DataCommand::Get(a) => get(a),
        DataCommand::List(a) => list(a),
    };
    match result {
        Ok(()) => crate::exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// `runner data get`.
fn get(args: &GetArgs) -> Result<(), FetchError> {
    crate::interrupt::install();
    let options = GetOptions {
        root: args.root.clone(),
        mirrors: args.mirrors.clone(),
    };
    crate::fetch::get(args.name, &options, &Report::new())
}

/// `runner data list`.
fn list(args: &ListArgs) -> Result<(), FetchError> {
    crate::fetch::install::check_root(&args.root)?;
    let sums = Checksums::from_env()?;
    print!("{}", crate::fetch::status::table(&args.root, &sums));
    Ok(())
}
