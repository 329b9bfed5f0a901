//! Prints what `build.rs` generated from `proto/link.proto`, used from ordinary Rust.
// NEW(lesson 03): nothing to write in this file: it prints what src/lib.rs returns.

use lesson_03::pb::Link;
use lesson_03::{create_link_request, get_link_response, service_name};

fn main() {
    // NEW(lesson 03): `cargo run` prints this once the tests pass.
    println!("service {}", service_name());

    let request = create_link_request("https://example.com/article-one");
    // NEW(lesson 03): a CreateLinkRequest holds only the URL.
    println!("CreateLinkRequest: {} bytes", request.len());

    let link = Link {
        // NEW(lesson 03): lesson 02's extra fields are gone from Link.
        id: 1,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 0,
    };
    let response = get_link_response(link);
    // NEW(lesson 03): a GetLinkResponse holds the whole link, in field 1.
    println!("GetLinkResponse:   {} bytes", response.len());
}
