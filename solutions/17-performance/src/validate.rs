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
