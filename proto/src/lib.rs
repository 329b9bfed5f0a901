//! The link shortener's API contract (`proto/shortener/link.proto`), compiled.
//!
//! The quiz checker and the lesson tests talk to a learner's server through this client, the
//! way any gRPC client in any language would: over the network, knowing only the contract.

tonic::include_proto!("shortener");

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(all(feature = "postgres", unix))]
pub mod postgres;
