//! `runner data get|list` through the real binary, against an HTTP server on
//! 127.0.0.1 that each test starts (tests/data_server) and that serves small
//! archives with the real layouts, built here, with their checksums passed
//! through RUNNER_DATA_CHECKSUMS. No test reaches beyond the loopback address:
//! every get names a loopback `--mirror` or points RUNNER_DATA_DRIVE_URL at it.
//! The tests synchronise on printed lines and on the server, never on sleeps.

mod common;
mod data_server;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::mpsc;

use common::{stderr, stdout, Project, Running};
use data_server::{Route, Server};

/// The official Drive ids of CelebA's two files (torchvision's table).
const PARTITION_ID: &str = "0B7EVK8r0v71pY0NSMzRuSXJEVkk";
const IMAGES_ID: &str = "0B7EVK8r0v71pZjFTYXZWM3FlRnM";

/// Lowercase hex MD5 of `bytes`.
fn md5(bytes: &[u8]) -> String {
    format!("{:x}", md5::compute(bytes))
}

/// Gzips `bytes`.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Bytes that do not compress (a linear congruential sequence).
fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// The four MNIST files (three 28x28 images each split), gzipped.
fn mnist_files() -> Vec<(&'static str, Vec<u8>)> {
    let labels = |n: u32| {
        let mut out = Vec::new();
        for v in [2049u32, n] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend((0..n).map(|i| (i % 10) as u8));
        out
    };
    vec![
        (
            "train-images-idx3-ubyte.gz",
            gzip(&common::idx_images(3, 28, 28, &noise(3 * 784, 1))),
        ),
        ("train-labels-idx1-ubyte.gz", gzip(&labels(3))),
        (
            "t10k-images-idx3-ubyte.gz",
            gzip(&common::idx_images(3, 28, 28, &noise(3 * 784, 2))),
        ),
        ("t10k-labels-idx1-ubyte.gz", gzip(&labels(3))),
    ]
}

/// A cifar-10-binary.tar.gz with the real layout: `cifar-10-batches-bin/`
/// holding the six batches (`records` records each) and the meta file.
fn cifar_archive(records: usize) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut names: Vec<String> = (1..=5).map(|i| format!("data_batch_{i}.bin")).collect();
    names.push("test_batch.bin".into());
    for (i, name) in names.iter().enumerate() {
        let data = noise(records * 3073, i as u32 + 10);
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("cifar-10-batches-bin/{name}"), &data[..])
            .unwrap();
    }
    let meta = b"airplane\nautomobile\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(meta.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "cifar-10-batches-bin/batches.meta.txt", &meta[..])
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

/// A 178x218 JPEG.
fn face(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(178, 218, |x, y| {
        image::Rgb([(x * 3 + seed) as u8, (y * 2) as u8, ((x + y) / 2) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// CelebA's img_align_celeba.zip (three images) and list_eval_partition.txt
/// (two train, one test).
fn celeba_files() -> (Vec<u8>, Vec<u8>) {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.add_directory("img_align_celeba/", options).unwrap();
    for i in 1..=3u32 {
        zip.start_file(format!("img_align_celeba/{i:06}.jpg"), options)
            .unwrap();
        zip.write_all(&face(i)).unwrap();
    }
    let zip = zip.finish().unwrap().into_inner();
    (zip, b"000001.jpg 0\n000002.jpg 0\n000003.jpg 2\n".to_vec())
}

/// Writes the md5sum-style table of `files` into the project; its path.
fn checksums(p: &Project, files: &[(&str, &[u8])]) -> PathBuf {
    let text: String = files
        .iter()
        .map(|(name, bytes)| format!("{}  {name}\n", md5(bytes)))
        .collect();
    p.write("sums.md5", &text)
}

/// `runner args` in `p` with the test's checksums and Drive endpoint.
fn command(p: &Project, server: &Server, args: &[&str]) -> Command {
    let mut cmd = p.command(args);
    cmd.env("RUNNER_DATA_CHECKSUMS", p.path().join("sums.md5"))
        .env("RUNNER_DATA_DRIVE_URL", format!("{}/uc", server.url))
        .env_remove("RUNNER_DATA_TEST_PAUSE");
    cmd
}

/// Runs `runner args` (see [`command`]).
fn run(p: &Project, server: &Server, args: &[&str]) -> Output {
    command(p, server, args).output().expect("runner starts")
}

/// Pipelines that read each dataset from its default folder: their dry run
/// exits 0 only when the readers accept the files.
const MNIST_PIPELINE: &str = "name: m\ndataset: {name: mnist, train_images: 2, test_images: 2}\ntrain: {epochs: 1, batch: 2}\neval: {images: 2}\n";
const CIFAR_PIPELINE: &str = "name: c\ndataset: {name: cifar10, train_images: 4, test_images: 2}\ntrain: {epochs: 1, batch: 2}\neval: {images: 2}\n";
const CELEBA_PIPELINE: &str = "name: a\ndataset: {name: celeba, train_images: 2, test_images: 1}\ntrain: {epochs: 1, batch: 2}\neval: {images: 1}\n";

/// Whether the readers accept the data `pipeline` reads (its dry run's exit).
fn readers_accept(p: &Project, pipeline: &str) -> bool {
    p.write("check.yaml", pipeline);
    let out = p.run(&["check.yaml", "--dry-run"]);
    match out.status.code() {
        Some(0) => true,
        Some(2) => false,
        other => panic!("dry run exited {other:?}: {}", stderr(&out)),
    }
}

/// Serves the CIFAR archive `bytes` under /cifar/ as `route`, with its checksum.
fn serve_cifar(p: &Project, server: &Server, bytes: &[u8], route: Route) {
    checksums(p, &[("cifar-10-binary.tar.gz", bytes)]);
    server.route("/cifar/cifar-10-binary.tar.gz", route);
}

#[test]
fn mnist_full_get_then_a_rerun_downloads_nothing() {
    let p = Project::new();
    let server = Server::start();
    let files = mnist_files();
    let table: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    checksums(&p, &table);
    for (name, bytes) in &files {
        server.route(&format!("/mnist/{name}"), Route::File(bytes.clone()));
    }
    assert!(!readers_accept(&p, MNIST_PIPELINE));
    let mirror = format!("{}/mnist/", server.url);
    let out = run(&p, &server, &["data", "get", "mnist", "--mirror", &mirror]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("mnist: ready in data/mnist (4 files verified)"),
        "{err}"
    );
    for (name, bytes) in &files {
        assert_eq!(
            &std::fs::read(p.path().join("data/mnist").join(name)).unwrap(),
            bytes
        );
    }
    assert!(p.path().join("data/mnist/.runner-data.json").is_file());
    assert!(
        !p.path().join("data/downloads").exists(),
        "downloads emptied"
    );
    assert!(readers_accept(&p, MNIST_PIPELINE));
    let list = stdout(&run(&p, &server, &["data", "list"]));
    assert!(
        list.contains("mnist") && list.contains("verified"),
        "{list}"
    );
    assert!(
        list.contains("missing (`runner data get cifar10`)"),
        "{list}"
    );

    let before = server.requests().len();
    let out = run(&p, &server, &["data", "get", "mnist", "--mirror", &mirror]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("already present and verified"), "{err}");
    assert_eq!(
        server.requests().len(),
        before,
        "a re-run downloads nothing"
    );
}

#[test]
fn files_already_present_are_verified_not_downloaded() {
    let p = Project::new();
    let server = Server::start();
    let files = mnist_files();
    let table: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    checksums(&p, &table);
    // Two files copied by hand (right), one wrong: only the wrong one and the
    // missing one are downloaded.
    p.write("data/mnist/x", "");
    std::fs::write(p.path().join("data/mnist").join(files[0].0), &files[0].1).unwrap();
    std::fs::write(p.path().join("data/mnist").join(files[1].0), &files[1].1).unwrap();
    std::fs::write(p.path().join("data/mnist").join(files[2].0), b"not it").unwrap();
    for (name, bytes) in &files {
        server.route(&format!("/m/{name}"), Route::File(bytes.clone()));
    }
    let out = run(
        &p,
        &server,
        &[
            "data",
            "get",
            "mnist",
            "--mirror",
            &format!("{}/m", server.url),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let asked: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        asked,
        [
            "/m/t10k-images-idx3-ubyte.gz",
            "/m/t10k-labels-idx1-ubyte.gz"
        ]
    );
    assert_eq!(
        std::fs::read(p.path().join("data/mnist").join(files[2].0)).unwrap(),
        files[2].1
    );
}

#[test]
fn cifar10_dropped_transfer_resumes_with_range() {
    let p = Project::new();
    let server = Server::start();
    let archive = cifar_archive(40);
    let half = archive.len() / 2;
    serve_cifar(
        &p,
        &server,
        &archive,
        Route::DropOnce {
            body: archive.clone(),
            after: half,
        },
    );
    let out = run(
        &p,
        &server,
        &[
            "data",
            "get",
            "cifar10",
            "--mirror",
            &format!("{}/cifar", server.url),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("connection dropped at byte"), "{err}");
    assert!(
        err.contains(&format!("resuming at byte {half} of {}", archive.len())),
        "{err}"
    );
    let ranges: Vec<Option<String>> = server.requests().into_iter().map(|r| r.range).collect();
    assert_eq!(ranges, [None, Some(format!("bytes={half}-"))]);
    assert!(readers_accept(&p, CIFAR_PIPELINE));
    let folder = p.path().join("data/cifar-10-batches-bin");
    assert!(folder.join(".runner-data.json").is_file());
    assert!(folder.join("batches.meta.txt").is_file());
    assert!(
        !p.path().join("data/downloads").exists(),
        "the archive is removed once unpacked"
    );
}

#[test]
fn a_download_killed_midway_resumes_in_the_next_run() {
    let p = Project::new();
    let server = Server::start();
    let archive = cifar_archive(60);
    let (sent, stalled) = mpsc::channel();
    let after = archive.len() * 6 / 10;
    serve_cifar(
        &p,
        &server,
        &archive,
        Route::StallOnce {
            body: archive.clone(),
            after,
            sent,
        },
    );
    let mirror = format!("{}/cifar", server.url);
    let mut get = Running::spawn(command(
        &p,
        &server,
        &["data", "get", "cifar10", "--mirror", &mirror],
    ));
    stalled.recv().unwrap();
    get.wait_for("cifar-10-binary.tar.gz: 50%");
    get.child.kill().unwrap(); // SIGKILL
    let (status, _) = get.finish();
    assert_eq!(status.code(), None, "killed");
    assert!(!readers_accept(&p, CIFAR_PIPELINE));
    let part = p.path().join("data/downloads/cifar-10-binary.tar.gz.part");
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(
        kept as usize >= archive.len() / 2 && kept as usize <= after,
        "{kept}"
    );
    let list = stdout(&run(&p, &server, &["data", "list"]));
    assert!(list.contains("partial download"), "{list}");

    let out = run(
        &p,
        &server,
        &["data", "get", "cifar10", "--mirror", &mirror],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        server.requests().last().unwrap().range,
        Some(format!("bytes={kept}-"))
    );
    assert!(readers_accept(&p, CIFAR_PIPELINE));
}

#[test]
fn celeba_through_the_drive_confirmation_page() {
    let p = Project::new();
    let server = Server::start();
    let (zip, partition) = celeba_files();
    checksums(
        &p,
        &[
            ("img_align_celeba.zip", &zip),
            ("list_eval_partition.txt", &partition),
        ],
    );
    server.route(
        &format!("/uc?export=download&id={PARTITION_ID}"),
        Route::File(partition.clone()),
    );
    // A large file: Drive first answers with its virus-scan page, whose form
    // leads to the file.
    let page = format!(
        r#"<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>
<p>Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="{}/download" method="get">
<input type="submit" id="uc-download-link" class="goog-inline-block jfk-button jfk-button-action" value="Download anyway"/>
<input type="hidden" name="id" value="{IMAGES_ID}"><input type="hidden" name="export" value="download">
<input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="5e3c-11&amp;x"></form></body></html>"#,
        server.url
    );
    server.route(
        &format!("/uc?export=download&id={IMAGES_ID}"),
        Route::Html(page),
    );
    server.route(
        &format!("/download?id={IMAGES_ID}&export=download&confirm=t&uuid=5e3c-11%26x"),
        Route::File(zip.clone()),
    );
    let out = run(&p, &server, &["data", "get", "celeba"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("non-commercial research only"),
        "the terms are shown: {err}"
    );
    assert!(readers_accept(&p, CELEBA_PIPELINE));
    let root = p.path().join("data/celeba");
    assert_eq!(
        std::fs::read(root.join("list_eval_partition.txt")).unwrap(),
        partition
    );
    assert!(root.join("img_align_celeba/000003.jpg").is_file());
    let list = stdout(&run(&p, &server, &["data", "list"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("celeba") && l.ends_with("verified")),
        "{list}"
    );
}

#[test]
fn drive_quota_is_said_plainly_with_the_manual_alternative() {
    let p = Project::new();
    let server = Server::start();
    let (zip, partition) = celeba_files();
    checksums(
        &p,
        &[
            ("img_align_celeba.zip", &zip),
            ("list_eval_partition.txt", &partition),
        ],
    );
    server.route(
        &format!("/uc?export=download&id={PARTITION_ID}"),
        Route::File(partition),
    );
    server.route(
        &format!("/uc?export=download&id={IMAGES_ID}"),
        Route::Html("<html><title>Google Drive - Quota exceeded</title><p>Too many users have viewed or downloaded this file recently. Please try accessing the file again later.</p></html>".into()),
    );
    let out = run(&p, &server, &["data", "get", "celeba"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("download quota is exceeded"), "{err}");
    assert!(
        err.contains("download img_align_celeba.zip by hand"),
        "{err}"
    );
    assert!(err.contains("data/downloads/img_align_celeba.zip"), "{err}");
    assert!(!readers_accept(&p, CELEBA_PIPELINE));

    // The manual alternative: the file put there by hand is verified and used.
    std::fs::write(p.path().join("data/downloads/img_align_celeba.zip"), &zip).unwrap();
    let out = run(&p, &server, &["data", "get", "celeba"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(readers_accept(&p, CELEBA_PIPELINE));
}

#[test]
fn a_corrupted_payload_is_refused_and_kept_aside() {
    let p = Project::new();
    let server = Server::start();
    let archive = cifar_archive(4);
    let mut bad = archive.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    serve_cifar(&p, &server, &archive, Route::File(bad.clone()));
    let mirror = format!("{}/cifar", server.url);
    let out = run(
        &p,
        &server,
        &["data", "get", "cifar10", "--mirror", &mirror],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not match its checksum"), "{err}");
    assert!(
        err.contains(&format!(
            "expected md5 {}, got {}",
            md5(&archive),
            md5(&bad)
        )),
        "{err}"
    );
    let corrupt = p
        .path()
        .join("data/downloads/cifar-10-binary.tar.gz.corrupt");
    assert_eq!(std::fs::read(&corrupt).unwrap(), bad);
    assert!(!p.path().join("data/cifar-10-batches-bin").exists());
    assert!(!readers_accept(&p, CIFAR_PIPELINE));

    // Once the server is right, the same command completes.
    server.route("/cifar/cifar-10-binary.tar.gz", Route::File(archive));
    let out = run(
        &p,
        &server,
        &["data", "get", "cifar10", "--mirror", &mirror],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(readers_accept(&p, CIFAR_PIPELINE));
}

#[test]
fn a_truncated_archive_installs_nothing() {
    let p = Project::new();
    let server = Server::start();
    let archive = cifar_archive(8);
    let truncated = archive[..archive.len() * 2 / 3].to_vec();
    // Its checksum is the truncated file's: it passes the check, and the
    // unpacking must catch it.
    serve_cifar(&p, &server, &truncated, Route::File(truncated.clone()));
    let out = run(
        &p,
        &server,
        &[
            "data",
            "get",
            "cifar10",
            "--mirror",
            &format!("{}/cifar", server.url),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the archive does not unpack"), "{err}");
    assert!(err.contains("Nothing was installed"), "{err}");
    assert!(!p.path().join("data/cifar-10-batches-bin").exists());
    let leftovers: Vec<_> = std::fs::read_dir(p.path().join("data"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, ["downloads"], "no temporary folder is left");
}

#[test]
fn kill_9_during_the_unpack_leaves_nothing_the_readers_accept() {
    let p = Project::new();
    let server = Server::start();
    let archive = cifar_archive(4);
    serve_cifar(&p, &server, &archive, Route::File(archive.clone()));
    let mirror = format!("{}/cifar", server.url);
    let mut cmd = command(
        &p,
        &server,
        &["data", "get", "cifar10", "--mirror", &mirror],
    );
    cmd.env("RUNNER_DATA_TEST_PAUSE", "unpack");
    let mut get = Running::spawn(cmd);
    get.wait_for("unpack paused after its first entry");
    get.child.kill().unwrap(); // SIGKILL
    let (status, _) = get.finish();
    assert_eq!(status.code(), None, "killed");
    assert!(!p.path().join("data/cifar-10-batches-bin").exists());
    assert!(!readers_accept(&p, CIFAR_PIPELINE));
    let list = stdout(&run(&p, &server, &["data", "list"]));
    assert!(
        list.contains("missing (`runner data get cifar10`)"),
        "{list}"
    );

    // The next get unpacks the verified archive without downloading it again,
    // and removes what the killed one left.
    let before = server.requests().len();
    let out = run(
        &p,
        &server,
        &["data", "get", "cifar10", "--mirror", &mirror],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(server.requests().len(), before, "{err}");
    assert!(readers_accept(&p, CIFAR_PIPELINE));
    let names: Vec<_> = std::fs::read_dir(p.path().join("data"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        names,
        ["cifar-10-batches-bin"],
        "no temporary folder is left"
    );
}

#[test]
fn sigterm_during_the_unpack_exits_143_and_keeps_the_archive() {
    let p = Project::new();
    let server = Server::start();
    let archive = cifar_archive(4);
    serve_cifar(&p, &server, &archive, Route::File(archive.clone()));
    let mirror = format!("{}/cifar", server.url);
    let mut cmd = command(
        &p,
        &server,
        &["data", "get", "cifar10", "--mirror", &mirror],
    );
    cmd.env("RUNNER_DATA_TEST_PAUSE", "unpack");
    let mut get = Running::spawn(cmd);
    get.wait_for("unpack paused after its first entry");
    get.signal("TERM");
    let (status, log) = get.finish();
    assert_eq!(status.code(), Some(143), "{log}");
    assert!(log.contains("the verified archive"), "{log}");
    assert!(p
        .path()
        .join("data/downloads/cifar-10-binary.tar.gz")
        .is_file());
    assert!(!p.path().join("data/cifar-10-batches-bin").exists());
}

#[test]
fn http_errors_fail_clearly_and_mirrors_are_tried_in_order() {
    let p = Project::new();
    let server = Server::start();
    let files = mnist_files();
    let table: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    checksums(&p, &table);
    for (code, text) in [
        (403, "Forbidden"),
        (404, "Not Found"),
        (429, "Too Many Requests"),
        (503, "Service Unavailable"),
    ] {
        server.route(
            &format!("/e{code}/train-images-idx3-ubyte.gz"),
            Route::Status(code),
        );
        let out = run(
            &p,
            &server,
            &[
                "data",
                "get",
                "mnist",
                "--mirror",
                &format!("{}/e{code}", server.url),
            ],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("error: could not download train-images-idx3-ubyte.gz"),
            "{err}"
        );
        assert!(err.contains(&format!("HTTP {code} {text}")), "{err}");
        assert!(!p
            .path()
            .join("data/mnist/train-images-idx3-ubyte.gz")
            .exists());
    }
    // The first mirror fails, the second serves.
    for (name, bytes) in &files {
        server.route(&format!("/good/{name}"), Route::File(bytes.clone()));
    }
    let bad = format!("{}/e404", server.url);
    let good = format!("{}/good", server.url);
    let out = run(
        &p,
        &server,
        &["data", "get", "mnist", "--mirror", &bad, "--mirror", &good],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("trying the next source"), "{err}");
    assert!(readers_accept(&p, MNIST_PIPELINE));
}

#[test]
fn no_server_is_a_network_error() {
    let p = Project::new();
    let server = Server::start();
    checksums(&p, &[]);
    // A loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(
        &p,
        &server,
        &[
            "data",
            "get",
            "cifar10",
            "--mirror",
            &format!("http://127.0.0.1:{port}"),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot connect (no network, or the server is down)"),
        "{err}"
    );
    assert!(err.contains("use --mirror URL"), "{err}");
}

#[test]
fn a_full_disk_fails_and_keeps_a_resumable_part() {
    let p = Project::new();
    let server = Server::start();
    let archive = cifar_archive(200); // about 3.7 MB
    serve_cifar(&p, &server, &archive, Route::File(archive.clone()));
    let mirror = format!("{}/cifar", server.url);
    // A file size limit stands in for a full disk: writes past it fail (EFBIG)
    // once SIGXFSZ is ignored, as a full disk's fail with ENOSPC.
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 2048; exec '{}' data get cifar10 --mirror '{mirror}'",
            env!("CARGO_BIN_EXE_runner")
        ))
        .current_dir(p.path())
        .env("RUNNER_DATA_CHECKSUMS", p.path().join("sums.md5"));
    let out = sh.output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no room left on the device"), "{err}");
    assert!(err.contains("resumes where it stopped"), "{err}");
    assert!(!p.path().join("data/cifar-10-batches-bin").exists());
    let out = run(
        &p,
        &server,
        &["data", "get", "cifar10", "--mirror", &mirror],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("resuming at byte"), "{err}");
}

#[test]
fn bad_input_exits_2() {
    let p = Project::new();
    let out = p.run(&["data", "get", "imagenet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("possible values: mnist, cifar10, celeba"),
        "{}",
        stderr(&out)
    );
    p.write("afile", "x");
    let cases: [&[&str]; 2] = [
        &["data", "get", "mnist", "--root", "afile"],
        &["data", "list", "--root", "afile"],
    ];
    for args in cases {
        let out = p.run(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("--root afile: it is a file, not a folder"),
            "{err}"
        );
    }
    let out = p.run(&["data", "get", "mnist", "--root", "afile/sub"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("afile is a file, not a folder"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pipeline_without_its_data_names_the_get_command() {
    let p = Project::new();
    for (pipeline, command) in [
        (MNIST_PIPELINE, "runner data get mnist"),
        (CIFAR_PIPELINE, "runner data get cifar10"),
        (CELEBA_PIPELINE, "runner data get celeba"),
    ] {
        p.write("p.yaml", pipeline);
        for args in [&["p.yaml", "--dry-run"][..], &["p.yaml"][..]] {
            let out = p.run(args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert!(err.contains(&format!("`{command}` (verified")), "{err}");
            assert!(!p.wrote_results(), "nothing is written");
        }
    }
    let elsewhere = CIFAR_PIPELINE.replace(
        "train_images",
        "root: /scratch/d/cifar-10-batches-bin, train_images",
    );
    p.write("p.yaml", &elsewhere);
    let err = stderr(&p.run(&["p.yaml", "--dry-run"]));
    assert!(
        err.contains("`runner data get cifar10 --root /scratch/d`"),
        "{err}"
    );
}

#[test]
fn a_dataset_folder_linked_to_another_file_system_is_filled() {
    // data/mnist a link to a scratch disk: /dev/shm (tmpfs) stands in for it
    // where the machine has one; the downloads stay under data/.
    let Ok(scratch) = tempfile::Builder::new().tempdir_in("/dev/shm") else {
        return;
    };
    let p = Project::new();
    let server = Server::start();
    let files = mnist_files();
    let table: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    checksums(&p, &table);
    for (name, bytes) in &files {
        server.route(&format!("/m/{name}"), Route::File(bytes.clone()));
    }
    std::fs::create_dir_all(p.path().join("data")).unwrap();
    std::os::unix::fs::symlink(scratch.path(), p.path().join("data/mnist")).unwrap();
    let mirror = format!("{}/m", server.url);
    let out = run(&p, &server, &["data", "get", "mnist", "--mirror", &mirror]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (name, bytes) in &files {
        assert_eq!(&std::fs::read(scratch.path().join(name)).unwrap(), bytes);
    }
    assert!(readers_accept(&p, MNIST_PIPELINE));
}
