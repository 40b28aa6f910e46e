//! Streaming one file over HTTP(S) into a `.part` file, resuming with HTTP
//! Range: after a dropped connection within the run, and from what an earlier,
//! interrupted run left. Every chunk is written straight to the file (no
//! buffer), so a kill -9 loses nothing already received.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use super::drive::{self, Page};
use super::error::FetchError;
use super::report::Report;

/// Consecutive attempts that receive nothing before a source is given up.
const STALLED_ATTEMPTS: u32 = 3;

/// Attempts at one source in all (each resumes where the last stopped).
const MAX_ATTEMPTS: u32 = 50;

/// Where one file is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The URL of the first request.
    pub url: String,
    /// The Google Drive file id, when `url` is Drive's (its HTML pages are read).
    pub drive_id: Option<String>,
}

/// The HTTP client: rustls, redirects followed, time-outs so that a dead
/// connection fails instead of hanging.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(60))
        .redirects(10)
        .user_agent(concat!("runner/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The size of the partial file at `part` (0 when there is none).
fn part_len(part: &Path) -> u64 {
    fs::metadata(part).map_or(0, |m| m.len())
}

/// What is left when a download stops: the partial file, resumable.
fn left_behind(part: &Path) -> String {
    let len = part_len(part);
    if len > 0 {
        format!(
            "The partial download {} ({len} bytes) is kept; the same command resumes it.",
            part.display()
        )
    } else {
        "Nothing was installed.".to_string()
    }
}

/// Downloads `source` into `part`, continuing a partial file that is there.
/// On success `part` holds the whole file (not yet verified).
///
/// # Errors
/// [`FetchError::Source`] when the source cannot give the file (the caller
/// tries the next one; `part` is kept for a resume), [`FetchError::NoRoom`] /
/// [`FetchError::Io`] when the file cannot be written,
/// [`FetchError::Interrupted`] on Ctrl-C or SIGTERM.
pub fn download(
    agent: &ureq::Agent,
    source: &Source,
    part: &Path,
    label: &str,
    report: &Report,
) -> Result<(), FetchError> {
    let mut stalled = 0;
    for _ in 0..MAX_ATTEMPTS {
        FetchError::check_stop(|| left_behind(part))?;
        let have = part_len(part);
        let response = open(agent, source, have, part)?;
        let (start, total) = extent(&response, have);
        if start > 0 {
            report.line(format!(
                "{label}: resuming at byte {start}{}",
                total.map(|t| format!(" of {t}")).unwrap_or_default()
            ));
        } else if have > 0 {
            report.line(format!(
                "{label}: the server does not resume (no Range support); starting over"
            ));
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(part)
            .map_err(|e| FetchError::writing(part, e))?;
        file.set_len(start)
            .map_err(|e| FetchError::writing(part, e))?;
        let mut file = OpenOptions::new()
            .append(true)
            .open(part)
            .map_err(|e| FetchError::writing(part, e))?;
        let mut reader = response.into_reader();
        let mut transfer = report.transfer(label, start, total);
        let mut at = start;
        let mut buf = vec![0u8; 256 * 1024];
        let dropped = loop {
            if let Err(stop) = FetchError::check_stop(|| left_behind(part)) {
                transfer.finish();
                return Err(stop);
            }
            match reader.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => {
                    file.write_all(&buf[..n])
                        .map_err(|e| FetchError::writing(part, e))?;
                    at += n as u64;
                    transfer.at(at);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(e),
            }
        };
        transfer.finish();
        file.sync_all().map_err(|e| FetchError::writing(part, e))?;
        let complete = match total {
            Some(total) => at >= total,
            None => dropped.is_none(),
        };
        if complete {
            return Ok(());
        }
        if at > start {
            stalled = 0;
        } else {
            stalled += 1;
        }
        let why = dropped.map_or_else(
            || "the server closed it early".to_string(),
            |e| e.to_string(),
        );
        let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
        if stalled >= STALLED_ATTEMPTS {
            return Err(FetchError::Source {
                url: source.url.clone(),
                reason: format!(
                    "the connection dropped at byte {at}{of} ({why}), {stalled} times in a row"
                ),
                quota: false,
            });
        }
        report.line(format!(
            "{label}: the connection dropped at byte {at}{of} ({why}); resuming"
        ));
    }
    Err(FetchError::Source {
        url: source.url.clone(),
        reason: format!("gave up after {MAX_ATTEMPTS} dropped connections"),
        quota: false,
    })
}

/// Where the body of `response` starts in the file and the file's whole size
/// (when the server says): a 206 continues at its `Content-Range` start, a 200
/// starts over.
fn extent(response: &ureq::Response, have: u64) -> (u64, Option<u64>) {
    if response.status() == 206 {
        if let Some((start, total)) = response.header("Content-Range").and_then(content_range) {
            if start <= have {
                return (start, total);
            }
        }
    }
    let len = response
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok());
    (0, len)
}

/// `bytes START-END/TOTAL` (TOTAL may be `*`).
fn content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()))
}

/// The response for `source` from byte `have` on, through Drive's
/// confirmation page when there is one.
fn open(
    agent: &ureq::Agent,
    source: &Source,
    have: u64,
    part: &Path,
) -> Result<ureq::Response, FetchError> {
    let response = request(agent, &source.url, have, part)?;
    let Some(id) = &source.drive_id else {
        return Ok(response);
    };
    if !is_html(&response) {
        return Ok(response);
    }
    let page_url = response.get_url().to_string();
    let page = page_text(response, &source.url)?;
    match drive::read_page(&page, &page_url, id) {
        Page::Confirm(next) => {
            let response = request(agent, &next, have, part)?;
            if !is_html(&response) {
                return Ok(response);
            }
            let page_url = response.get_url().to_string();
            let page = page_text(response, &next)?;
            Err(drive_refusal(
                &source.url,
                drive::read_page(&page, &page_url, id),
            ))
        }
        other => Err(drive_refusal(&source.url, other)),
    }
}

/// The error for a Drive page that is not the file.
fn drive_refusal(url: &str, page: Page) -> FetchError {
    let (reason, quota) = match page {
        Page::Quota => (
            "Google Drive refuses the download: the file's download quota is exceeded \
             (too many users downloaded it in the last 24 hours)"
                .to_string(),
            true,
        ),
        _ => (
            "Google Drive answered with a page that is neither the file nor its \
             confirmation form"
                .to_string(),
            false,
        ),
    };
    FetchError::Source {
        url: url.to_string(),
        reason,
        quota,
    }
}

/// Whether a response is an HTML page (Drive's pages; never a dataset file).
fn is_html(response: &ureq::Response) -> bool {
    response.content_type().eq_ignore_ascii_case("text/html")
}

/// The text of an HTML page (ureq caps it at 10 MB).
fn page_text(response: ureq::Response, url: &str) -> Result<String, FetchError> {
    response.into_string().map_err(|e| FetchError::Source {
        url: url.to_string(),
        reason: format!("cannot read its page: {e}"),
        quota: false,
    })
}

/// GET `url`, from byte `have` on when there is a partial file. A server that
/// says the range cannot be satisfied (the partial file is not a prefix of
/// its file) is asked again for the whole file, and the partial file emptied.
fn request(
    agent: &ureq::Agent,
    url: &str,
    have: u64,
    part: &Path,
) -> Result<ureq::Response, FetchError> {
    let mut req = agent.get(url);
    if have > 0 {
        req = req.set("Range", &format!("bytes={have}-"));
    }
    match req.call() {
        Ok(response) => Ok(response),
        Err(ureq::Error::Status(416, _)) if have > 0 => {
            fs::File::create(part).map_err(|e| FetchError::writing(part, e))?;
            request(agent, url, 0, part)
        }
        Err(ureq::Error::Status(code, response)) => Err(FetchError::Source {
            url: url.to_string(),
            reason: status_reason(code, response.status_text()),
            quota: false,
        }),
        Err(ureq::Error::Transport(t)) => Err(FetchError::Source {
            url: url.to_string(),
            reason: transport_reason(&t),
            quota: false,
        }),
    }
}

/// An HTTP error status in words, with what it usually means.
pub fn status_reason(code: u16, text: &str) -> String {
    let meaning = match code {
        401 | 403 => "the server refuses to serve it (try another mirror)",
        404 | 410 => "the file is not at this address",
        429 => "too many requests: the server asks to wait; run the command again later",
        500..=599 => "the server failed; try again later",
        _ => "the server refused the request",
    };
    format!("HTTP {code} {text}: {meaning}")
}

/// A connection-level failure in words.
fn transport_reason(t: &ureq::Transport) -> String {
    match t.kind() {
        ureq::ErrorKind::Dns => {
            format!("cannot resolve the host name (no network, or DNS fails): {t}")
        }
        ureq::ErrorKind::ConnectionFailed => {
            format!("cannot connect (no network, or the server is down): {t}")
        }
        _ => format!("network error: {t}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_is_read() {
        assert_eq!(content_range("bytes 100-199/200"), Some((100, Some(200))));
        assert_eq!(content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(content_range("items 1-2/3"), None);
    }

    #[test]
    fn statuses_say_what_they_mean() {
        assert!(status_reason(404, "Not Found").starts_with("HTTP 404 Not Found: the file is not"));
        assert!(status_reason(429, "Too Many Requests").contains("wait"));
        assert!(status_reason(503, "Service Unavailable").contains("try again later"));
        assert!(status_reason(403, "Forbidden").contains("refuses"));
    }
}
