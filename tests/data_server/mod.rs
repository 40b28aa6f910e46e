//! A tiny HTTP/1.1 server on 127.0.0.1 for the `runner data get` tests: it
//! serves byte strings by path (honouring `Range: bytes=N-`), HTML pages,
//! error statuses, and transfers that break midway, and records every request.
//! One request per connection (`Connection: close`); each connection on its own
//! thread, so a stalled one blocks nothing else. It never connects anywhere.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

/// What the server answers on one path (path and query, as requested).
#[derive(Clone)]
pub enum Route {
    /// 200 (or 206 for a Range) with these bytes.
    File(Vec<u8>),
    /// The first time: headers for the whole file, `after` bytes, then the
    /// connection is closed; later like [`Route::File`].
    DropOnce { body: Vec<u8>, after: usize },
    /// The first time: headers, `after` bytes, a message on `sent`, then it
    /// waits until the client goes away; later like [`Route::File`].
    StallOnce {
        body: Vec<u8>,
        after: usize,
        sent: Sender<()>,
    },
    /// 200 `text/html` with this page.
    Html(String),
    /// This status and a short body.
    Status(u16),
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    /// Path and query.
    pub target: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    /// Routes whose one-time behaviour has happened.
    used: Vec<String>,
    requests: Vec<Request>,
}

/// A server running on a thread for the rest of the test.
#[derive(Clone)]
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    /// Starts a server on a free loopback port.
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &state);
                });
            }
        });
        Server { url, state }
    }

    /// Answers `target` (a path with its query) with `route`.
    pub fn route(&self, target: &str, route: Route) {
        let mut state = self.state.lock().unwrap();
        state.routes.insert(target.to_string(), route);
        state.used.retain(|t| t != target);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }
}

/// Reads one request and answers it.
fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }
    let (route, first) = {
        let mut s = state.lock().unwrap();
        s.requests.push(Request {
            target: target.clone(),
            range: range.clone(),
        });
        let route = s.routes.get(&target).cloned();
        let first = !s.used.contains(&target);
        s.used.push(target.clone());
        (route, first)
    };
    let mut out = stream;
    match route {
        None => status(&mut out, 404),
        Some(Route::Status(code)) => status(&mut out, code),
        Some(Route::Html(page)) => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            )
        }
        Some(Route::File(body)) => file(&mut out, &body, range.as_deref()),
        Some(Route::DropOnce { body, after }) if first => {
            head(&mut out, 200, body.len(), None)?;
            out.write_all(&body[..after])?;
            out.flush()
            // Dropping the stream closes the connection midway.
        }
        Some(Route::StallOnce { body, after, sent }) if first => {
            head(&mut out, 200, body.len(), None)?;
            out.write_all(&body[..after])?;
            out.flush()?;
            let _ = sent.send(());
            // Wait for the client to go away (killed): read returns 0 or fails.
            let mut sink = [0u8; 64];
            while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
            Ok(())
        }
        Some(Route::DropOnce { body, .. }) | Some(Route::StallOnce { body, .. }) => {
            file(&mut out, &body, range.as_deref())
        }
    }
}

/// The status line and headers of a binary body.
fn head(
    out: &mut TcpStream,
    code: u16,
    len: usize,
    range: Option<(usize, usize)>,
) -> std::io::Result<()> {
    let reason = if code == 206 { "Partial Content" } else { "OK" };
    let extra = range
        .map(|(start, total)| format!("Content-Range: bytes {start}-{}/{total}\r\n", total - 1))
        .unwrap_or_default();
    write!(
        out,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\nAccept-Ranges: bytes\r\n{extra}Connection: close\r\n\r\n"
    )
}

/// `body`, or its tail for `Range: bytes=N-`.
fn file(out: &mut TcpStream, body: &[u8], range: Option<&str>) -> std::io::Result<()> {
    let start = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    match start {
        Some(start) if start < body.len() => {
            head(out, 206, body.len() - start, Some((start, body.len())))?;
            out.write_all(&body[start..])
        }
        Some(_) => status(out, 416),
        None => {
            head(out, 200, body.len(), None)?;
            out.write_all(body)
        }
    }
}

/// An error status with a short body.
fn status(out: &mut TcpStream, code: u16) -> std::io::Result<()> {
    let reason = match code {
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    };
    write!(
        out,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reason}",
        reason.len()
    )
}
