//! Which long URLs the shortener accepts, and why it refuses the others.

use thiserror::Error;
use url::{ParseError, Url};

/// The longest URL the shortener stores, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// Why a URL was refused. Each message is written for the person who sent the URL.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UrlError {
    #[error("the URL is empty")]
    Empty,
    #[error("the URL is {len} bytes long; the limit is {max} bytes")]
    TooLong { len: usize, max: usize },
    #[error(
        "the URL has a space or a control character at byte {at}: percent-encode it (a space is %20)"
    )]
    Unencoded { at: usize },
    #[error("{0:?} is not an absolute URL: did you mean \"https://{suggestion}\"?", suggestion = .0.trim_start_matches('/'))]
    NotAbsolute(String),
    #[error("the scheme {0:?} is not allowed: only http and https links can be shortened")]
    Scheme(String),
    #[error("the URL has no host: write it as https://HOST/..., with two slashes and a host")]
    NoHost,
    #[error("the URL cannot be read: {0}")]
    Unreadable(ParseError),
}

/// Checks that `url` is one the shortener may store: an absolute `http` or `https` URL with a
/// host, at most [`MAX_URL_LEN`] bytes. It never changes the URL: the caller stores the string
/// it was sent, so every rule here is about that string, not about the parser's tidy copy.
pub fn validate_url(url: &str) -> Result<(), UrlError> {
    // The cheap checks first: an empty URL, then one too long to be worth parsing.
    if url.is_empty() {
        return Err(UrlError::Empty);
    }
    if url.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong {
            len: url.len(),
            max: MAX_URL_LEN,
        });
    }

    // NEW(lesson 17): most URLs are plain; those are read in one pass, without the parser.
    if is_plain_web_url(url) {
        return Ok(());
    }

    // The parser drops spaces and control characters at the ends and tabs and newlines
    // anywhere, and encodes a space inside: it would pass a URL whose stored copy keeps them.
    if let Some(at) = url.find(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::Unencoded { at });
    }

    let parsed = match Url::parse(url) {
        Ok(parsed) => parsed,
        Err(ParseError::RelativeUrlWithoutBase) => {
            return Err(UrlError::NotAbsolute(url.to_string()));
        }
        Err(ParseError::EmptyHost) => return Err(UrlError::NoHost),
        Err(other) => return Err(UrlError::Unreadable(other)),
    };
    let scheme = parsed.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(UrlError::Scheme(scheme.to_string()));
    }

    // The parser repairs `https:example.com`, `https:/example.com` and `https:///example.com`
    // into URLs with a host. The text as sent must have the two slashes and the host itself.
    let after_scheme = url.get(scheme.len() + 1..).unwrap_or_default();
    match after_scheme.strip_prefix("//") {
        Some(rest) if !rest.starts_with(['/', '\\']) => Ok(()),
        _ => Err(UrlError::NoHost),
    }
}

/// NEW(lesson 17): whether `url` is one the `url` crate accepts with no question asked, seen in
/// one pass over its bytes: `http://` or `https://`, a host of lowercase names (letters, digits,
/// `-`) joined by dots, the last one starting with a letter, an optional port of at most 65535,
/// then nothing or a path, query or fragment of visible ASCII. `false` says nothing either way:
/// the caller parses the URL fully then. `tests::the_fast_path_agrees_with_the_parser` checks
/// that every URL said `true` here is one the full check accepts.
///
/// What it leaves to the parser, and why: capitals and other characters in the host (the
/// parser lowercases and maps them), a name starting with `xn--` (punycode, which can be
/// invalid), a last name that starts with a digit (`1.2.3.4`, `0x7f.1`: the parser reads the
/// host as an IPv4 address then, and can refuse it), `@` (a user name), `[` (an IPv6 address),
/// and every byte outside visible ASCII.
fn is_plain_web_url(url: &str) -> bool {
    let bytes = url.as_bytes();
    let rest = if let Some(rest) = bytes.strip_prefix(b"https://") {
        rest
    } else if let Some(rest) = bytes.strip_prefix(b"http://") {
        rest
    } else {
        return false;
    };
    let host_len = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#' | b':'))
        .unwrap_or(rest.len());
    let (host, after_host) = rest.split_at(host_len);
    if !is_plain_host(host) {
        return false;
    }
    let after_port = match after_host.strip_prefix(b":") {
        Some(port) => {
            let digits = port.iter().take_while(|b| b.is_ascii_digit()).count();
            let in_range = (1..=5).contains(&digits)
                && std::str::from_utf8(&port[..digits])
                    .ok()
                    .and_then(|digits| digits.parse::<u32>().ok())
                    .is_some_and(|port| port <= 65535);
            if !in_range {
                return false;
            }
            &port[digits..]
        }
        None => after_host,
    };
    // Anything after the authority is a path, a query or a fragment: the parser takes any
    // visible ASCII there, percent-encoding what must be.
    (after_port.is_empty() || matches!(after_port[0], b'/' | b'?' | b'#'))
        && after_port.iter().all(u8::is_ascii_graphic)
}

/// Whether `host` is lowercase names of `[a-z0-9-]` joined by single dots, none starting with
/// `xn--`, the last one starting with a letter.
fn is_plain_host(host: &[u8]) -> bool {
    let mut last = None;
    for label in host.split(|&b| b == b'.') {
        let plain = !label.is_empty()
            && !label.starts_with(b"xn--")
            && label
                .iter()
                .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !plain {
            return false;
        }
        last = Some(label);
    }
    last.is_some_and(|label| label[0].is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The check as it was before the fast path: the full parse, every time.
    fn parsed(url: &str) -> Result<(), UrlError> {
        if url.is_empty() || url.len() > MAX_URL_LEN {
            return validate_url(url);
        }
        if let Some(at) = url.find(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Unencoded { at });
        }
        let parsed = match Url::parse(url) {
            Ok(parsed) => parsed,
            Err(ParseError::RelativeUrlWithoutBase) => {
                return Err(UrlError::NotAbsolute(url.to_string()));
            }
            Err(ParseError::EmptyHost) => return Err(UrlError::NoHost),
            Err(other) => return Err(UrlError::Unreadable(other)),
        };
        let scheme = parsed.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(UrlError::Scheme(scheme.to_string()));
        }
        let after_scheme = url.get(scheme.len() + 1..).unwrap_or_default();
        match after_scheme.strip_prefix("//") {
            Some(rest) if !rest.starts_with(['/', '\\']) => Ok(()),
            _ => Err(UrlError::NoHost),
        }
    }

    /// URLs made of the pieces where parsers disagree: schemes in both cases, hosts with
    /// numbers, hex, punycode, capitals, empty names, user names, IPv6, ports out of range, and
    /// paths with every kind of visible and invisible character.
    fn tricky_url() -> impl Strategy<Value = String> {
        let scheme = prop::sample::select(vec![
            "http://",
            "https://",
            "HTTP://",
            "http:/",
            "http:",
            "https:///",
            "ftp://",
            "",
        ]);
        let label = prop::sample::select(vec![
            "example",
            "a",
            "b-c",
            "-x",
            "x-",
            "com",
            "1",
            "255",
            "256",
            "0x7f",
            "0x",
            "xn--",
            "xn--nxasmq6b",
            "xn--a",
            "EXAMPLE",
            "ex_ample",
            "exa%41mple",
            "",
            "é",
            "1a",
            "a1",
            "09",
            "0X1F",
        ]);
        let host = prop::collection::vec(label, 0..5).prop_map(|labels| labels.join("."));
        let port = prop::sample::select(vec![
            "", ":", ":80", ":0", ":65535", ":65536", ":99999", ":123456", ":8x", ":-1",
        ]);
        let tail = prop::collection::vec(
            prop::sample::select(vec![
                "/", "?", "#", "a", "%", "%zz", "%41", "\\", "@", ":", "[", "]", "{", "|", "^",
                "`", "\"", "'", "<", ">", " ", "\t", "\u{7f}", "é", "//", "..", "~", "!",
            ]),
            0..8,
        )
        .prop_map(|parts| parts.concat());
        let user = prop::sample::select(vec!["", "user@", "u:p@", "@"]);
        (scheme, user, host, port, tail).prop_map(|(scheme, user, host, port, tail)| {
            format!("{scheme}{user}{host}{port}{tail}")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn the_fast_path_agrees_with_the_parser(url in tricky_url()) {
            prop_assert_eq!(validate_url(&url), parsed(&url), "{:?}", url);
            if is_plain_web_url(&url) {
                prop_assert!(Url::parse(&url).is_ok(), "{:?}", url);
            }
        }

        #[test]
        fn the_fast_path_agrees_with_the_parser_on_any_ascii(url in "[ -~]{0,40}") {
            prop_assert_eq!(validate_url(&url), parsed(&url), "{:?}", url);
        }
    }

    #[test]
    fn the_load_tools_urls_take_the_fast_path() {
        for url in [
            "https://example.com/articles/0000000001",
            "http://localhost:8080/a?b=c#d",
            "https://a-b.example.co.uk",
        ] {
            assert!(is_plain_web_url(url), "{url}");
        }
        for url in [
            "https://1.2.3.4/",
            "https://EXAMPLE.com/",
            "https://xn--a.com/",
        ] {
            assert!(!is_plain_web_url(url), "{url} is left to the parser");
        }
    }
}
