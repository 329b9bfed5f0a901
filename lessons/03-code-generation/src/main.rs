//! Prints what `build.rs` generated from `proto/link.proto`, used from ordinary Rust.
// NEW(lesson 03): lesson 02's functions are gone; this file prints what src/lib.rs returns.

use lesson_03::{create_link_request, service_name};
// NEW(lesson 03): Exercise 3 will need more imports here.

fn main() {
    // NEW(lesson 03): the first two lines print once Learn, step 7 and Exercise 2 are done.
    println!("service {}", service_name());

    let request = create_link_request("https://example.com/article-one");
    println!("CreateLinkRequest: {} bytes", request.len());
    // NEW(lesson 03): lesson 02's link and its description are gone from here.

    // TODO(lesson 03): Exercise 3: build the generated Link of the lesson (id 1, the URL above,
    // short code k7m2px, 0 clicks) and print the size of the GetLinkResponse that carries it,
    // as the lesson's Run it shows.
}
