//! Lesson 03: the shortener's first `.proto`, turned into Rust by `build.rs`.
//!
//! None of the types below are written by hand: the messages, the server trait and the client
//! all come from `proto/link.proto`. The functions show that they are there and speak the
//! contract.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
}

use prost::Message;

/// The name gRPC knows the service by: the proto package, a dot, the service.
pub fn service_name() -> &'static str {
    pb::link_service_server::SERVICE_NAME
}

/// The request a client sends to shorten `url`, encoded as it travels.
pub fn create_link_request(url: &str) -> Vec<u8> {
    let request = pb::CreateLinkRequest {
        url: url.to_string(),
    };
    request.encode_to_vec()
}

/// The server's answer to `GetLink` when it found `link`, encoded as it travels.
pub fn get_link_response(link: pb::Link) -> Vec<u8> {
    let response = pb::GetLinkResponse { link: Some(link) };
    response.encode_to_vec()
}
