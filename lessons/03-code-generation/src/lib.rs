//! Lesson 03: the shortener's first `.proto`, turned into Rust by `build.rs`.
//!
//! None of the types below are written by hand: the messages, the server trait and the client
//! all come from `proto/link.proto`. The functions show that they are there and speak the
//! contract.
// NEW(lesson 03): lesson 02's `example_link` and `describe` are gone; the three new functions
// below use what the service in proto/link.proto generates.

// NEW(lesson 03): nothing to change here: step 5 of the lesson explains `include_proto!`.
/// The code that `build.rs` generated from `proto/link.proto`: messages, server trait, client.
pub mod pb {
    tonic::include_proto!("shortener");
}

// TODO(lesson 03): Learn, step 7: `encode_to_vec` is a method of a prost trait: bring it into scope.

/// The name gRPC knows the service by: the proto package, a dot, the service.
pub fn service_name() -> &'static str {
    // TODO(lesson 03): Exercise 2: return the constant the generator wrote for this name; find
    // it in the generated server module. Don't type the name yourself.
    todo!("Exercise 2: the service's name, from the generated code")
}

// NEW(lesson 03): this function is the worked example of Learn, step 7: type it in with the lesson.
/// The request a client sends to shorten `url`, encoded as it travels.
pub fn create_link_request(url: &str) -> Vec<u8> {
    // TODO(lesson 03): Learn, step 7: build a generated CreateLinkRequest for `url`, encode it.
    todo!("Learn, step 7: encode a CreateLinkRequest for {url}")
}

/// The server's answer to `GetLink` when it found `link`, encoded as it travels.
pub fn get_link_response(link: pb::Link) -> Vec<u8> {
    // TODO(lesson 03): Exercise 3: wrap `link` in the generated GetLinkResponse, encode it.
    todo!("Exercise 3: encode a GetLinkResponse holding {link:?}")
}
