//! Prints what `build.rs` generated from `proto/link.proto`, used from ordinary Rust.

use solution_03::pb::Link;
use solution_03::{create_link_request, get_link_response, service_name};

fn main() {
    println!("service {}", service_name());

    let request = create_link_request("https://example.com/article-one");
    println!("CreateLinkRequest: {} bytes", request.len());

    let link = Link {
        id: 1,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 0,
    };
    let response = get_link_response(link);
    println!("GetLinkResponse:   {} bytes", response.len());
}
