//! The web page in a real browser: headless Chromium, driven over the DevTools protocol on a pipe
//! (`--remote-debugging-pipe`: no port, no extra crate). The server wants a key: the page says so,
//! takes it, shortens a URL through the form, follows the short link, sees the redirect land,
//! and sees the click count rise on the page.
//! It keeps a screenshot in `target/tmp/lesson-15-page.png`.
//!
//! Ignored by plain `cargo test`, which must not need a browser. `.ci/run` installs Chromium
//! and runs it: `cargo test -p solution-15 --test browser -- --ignored`. `CHROMIUM` names the
//! browser's binary (default `chromium`).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use solution_15::client::BearerKey;
use solution_15::gateway;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The longest the test waits for anything on the page.
const LIMIT: Duration = Duration::from_secs(15);

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    (listener, addr)
}

/// A page to land on after the redirect: any request gets `<title>landed</title>`.
async fn landing() -> SocketAddr {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let body = "<!doctype html><title>landed</title><p>landed";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

/// Chromium, and the two ends of its DevTools pipe.
struct Browser {
    child: Child,
    commands: File,
    events: BufReader<File>,
    next_id: u64,
    session: Option<String>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    let result = unsafe { libc::pipe(fds.as_mut_ptr()) };
    assert_eq!(result, 0, "pipe(2) failed");
    (fds[0], fds[1])
}

impl Browser {
    fn start(profile: &std::path::Path) -> Browser {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_string());
        // Chromium reads commands from fd 3 and writes answers to fd 4.
        let (command_read, command_write) = pipe();
        let (answer_read, answer_write) = pipe();
        let mut command = Command::new(&binary);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-pipe",
                "--window-size=1000,700",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls (dup2) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(command_read, 3) < 0 || libc::dup2(answer_write, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot run {binary} (set CHROMIUM, or install chromium): {e}")
        });
        // SAFETY: the descriptors come from pipe(2) above and are owned here from now on.
        let (commands, events) = unsafe {
            libc::close(command_read);
            libc::close(answer_write);
            (
                File::from_raw_fd(command_write),
                File::from_raw_fd(answer_read),
            )
        };
        Browser {
            child,
            commands,
            events: BufReader::new(events),
            next_id: 0,
            session: None,
        }
    }

    /// Sends one command and returns its `result`, skipping the events in between.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).expect("JSON");
        bytes.push(0);
        self.commands.write_all(&bytes).expect("write to Chromium");
        loop {
            let mut raw = Vec::new();
            let n = self
                .events
                .read_until(0, &mut raw)
                .expect("read from Chromium");
            assert!(n > 0, "Chromium closed its pipe");
            raw.pop();
            let answer: Value = serde_json::from_slice(&raw).expect("JSON from Chromium");
            if answer["id"] == id {
                assert!(answer.get("error").is_none(), "{method} failed: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// Evaluates `expression` in the page, awaiting a promise, and returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true in the page.
    fn wait_for(&mut self, expression: &str, what: &str) {
        let started = Instant::now();
        while self.eval(expression) != json!(true) {
            assert!(
                started.elapsed() < LIMIT,
                "waited {LIMIT:?} for {what} ({expression})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Chromium: .ci/run installs it and runs this test"]
async fn the_page_asks_for_the_key_shortens_a_url_follows_it_and_shows_the_click() {
    // A server that wants a key: the page must ask for it, since the gateway lends none.
    let (grpc, grpc_addr) = listener().await;
    let settings = solution_15::Settings {
        api_key: solution_15::ApiKey::new(Some("browser-test-key".to_string())),
        log: solution_15::CallLog::new(|_| {}),
    };
    tokio::spawn(solution_15::serve(
        grpc,
        solution_15::LinkServer::default(),
        settings,
        std::future::pending(),
    ));
    let (http, http_addr) = listener().await;
    let own = BearerKey::new(Some("browser-test-key")).expect("a key that can be a header");
    let clients = gateway::connect(&format!("http://{grpc_addr}"), own).expect("url");
    tokio::spawn(gateway::serve(http, clients, std::future::pending()));
    let landing = landing().await;
    let target = format!("http://{landing}/article");
    let page = format!("http://{http_addr}/");
    let screenshot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lesson-15-page.png");
    let profile = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lesson-15-chromium");

    tokio::task::spawn_blocking(move || {
        let mut browser = Browser::start(&profile);
        let target_id = browser.call("Target.createTarget", json!({ "url": "about:blank" }))["targetId"].clone();
        let session = browser.call("Target.attachToTarget", json!({ "targetId": target_id, "flatten": true }))["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser.session = Some(session);
        browser.call("Page.navigate", json!({ "url": page }));
        browser.wait_for("document.readyState === 'complete' && !!document.getElementById('shorten')", "the page and its form");
        browser.wait_for(
            "document.getElementById('error').textContent.includes('API key')",
            "the page to say that the server wants a key (its list answered 401)",
        );
        browser.eval(
            "const key = document.getElementById('key'); key.value = 'browser-test-key'; \
             key.dispatchEvent(new Event('change')); true",
        );

        // Shorten through the form, as a person would.
        browser.eval(&format!(
            "document.getElementById('url').value = {}; document.getElementById('shorten').requestSubmit(); true",
            json!(target)
        ));
        browser.wait_for("document.getElementById('short').value !== ''", "the short link to appear");
        let short = browser.eval("document.getElementById('short').value");
        let short = short.as_str().expect("the short link").to_string();
        let code = short.rsplit('/').next().expect("a code").to_string();
        browser.wait_for(
            &format!("document.querySelector('tr[data-code=\"{code}\"] .clicks')?.textContent === '0'"),
            "the new link in the list with 0 clicks",
        );

        // Follow the short link: the gateway's 302 lands on the target page.
        browser.call("Page.navigate", json!({ "url": short }));
        browser.wait_for(
            &format!("location.href === {} && document.title === 'landed'", json!(target)),
            "the redirect to land on the target page",
        );

        // Back on the page, the count rises to 1.
        browser.call("Page.navigate", json!({ "url": page }));
        browser.wait_for(
            &format!("document.querySelector('tr[data-code=\"{code}\"] .clicks')?.textContent === '1'"),
            "the click count to rise to 1 on the page",
        );
        let shot = browser.call("Page.captureScreenshot", json!({ "format": "png" }));
        let png = decode_base64(shot["data"].as_str().expect("PNG data"));
        std::fs::write(&screenshot, png).expect("write the screenshot");
        println!("screenshot: {}", screenshot.display());
    })
    .await
    .expect("the browser's part of the test");
}
