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

/// The bytes of a PEM file, once they are known to hold `marker`.
fn read_pem(what: &'static str, path: &Path, marker: &'static str) -> Result<Vec<u8>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    if !String::from_utf8_lossy(&bytes).contains(marker) {
        return Err(TlsError::NotPem {
            what,
            path: path.to_path_buf(),
            marker,
        });
    }
    Ok(bytes)
}

/// The server's identity: its certificate chain and the private key that goes with it.
pub fn load_identity(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let cert = read_pem("certificate", cert, "-----BEGIN CERTIFICATE-----")?;
    // "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY": every label of a key ends so.
    let key = read_pem("private key", key, "PRIVATE KEY-----")?;
    Ok(Identity::from_pem(cert, key))
}

/// The certificate of the CA that signed the server's: what a client trusts.
pub fn load_ca(path: &Path) -> Result<Certificate, TlsError> {
    let ca = read_pem("CA certificate", path, "-----BEGIN CERTIFICATE-----")?;
    Ok(Certificate::from_pem(ca))
}
