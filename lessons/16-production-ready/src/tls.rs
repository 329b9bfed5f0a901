//! TLS from PEM files: the server's certificate and key, and the CA a client trusts.
//!
//! tonic reads the PEM only when the server or the channel is built, deep inside rustls, and
//! its error does not say which file was wrong. These functions read the files first, so that a
//! wrong path or a file of the wrong kind gets an error that names it.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, Identity};

/// Why a PEM file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the {what} {path}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the {what} {path} is not in PEM: it has no `{marker}` line")]
    NotPem {
        what: &'static str,
        path: PathBuf,
        marker: &'static str,
    },
}

// TODO(lesson 16): Exercise 3. Read each file, and refuse one that does not hold the PEM it
// should, with the `TlsError` that says which file and what was expected.

/// The server's identity: its certificate chain and the private key that goes with it.
pub fn load_identity(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let _ = (cert, key);
    todo!("load_identity: read both PEM files")
}

/// The certificate of the CA that signed the server's: what a client trusts.
pub fn load_ca(path: &Path) -> Result<Certificate, TlsError> {
    let _ = path;
    todo!("load_ca: read the CA's PEM file")
}
