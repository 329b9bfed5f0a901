//! Lesson 03: the shortener's first `.proto`, turned into Rust by `build.rs`.
//!
//! None of the types below are written by hand: the messages, the server trait and the client
//! all come from `proto/link.proto`. The functions show that they are there and speak the
//! contract.
// NEW(lesson 03): lesson 02's `example_link` and `describe` are gone; the three new functions
// below use what the service in proto/link.proto generates.

/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
// NEW(lesson 03): nothing to change here: step 5 of the lesson explains `include_proto!`.
pub mod pb {
    tonic::include_proto!("shortener");
}

// TODO(lesson 03): bring `prost::Message` into scope: `encode_to_vec` is one of its methods.

/// The name gRPC knows the service by: the proto package, a dot, the service.
pub fn service_name() -> &'static str {
    // TODO(lesson 03): return the `SERVICE_NAME` constant of the generated `link_service_server`.
    todo!("add `service LinkService` to proto/link.proto, then return its generated name")
}

/// The request a client sends to shorten `url`, encoded as it travels.
pub fn create_link_request(url: &str) -> Vec<u8> {
    // TODO(lesson 03): build a `pb::CreateLinkRequest` for `url` and encode it.
    todo!("add CreateLinkRequest to proto/link.proto, then encode one for {url}")
}

/// The server's answer to `GetLink` when it found `link`, encoded as it travels.
pub fn get_link_response(link: pb::Link) -> Vec<u8> {
    // TODO(lesson 03): wrap `link` in a `pb::GetLinkResponse` and encode it.
    todo!("add GetLinkResponse to proto/link.proto, then encode one holding {link:?}")
}
// NEW(lesson 03): that is all: `cargo test` passes once the proto and the three functions are done.
