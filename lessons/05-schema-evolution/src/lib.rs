//! Lesson 05: two versions of `Link` that read each other's bytes, and two edits that break
//! them. Each version is its own proto package, so each becomes its own Rust module.
//! NEW(lesson 05): the three modules and describe_v1 are given; the functions after them are
//! the exercises.

// NEW(lesson 05): given: v1 is the Link of lessons 03 and 04.
/// Version 1, from `proto/link_v1.proto`: the `Link` of lessons 03 and 04.
pub mod v1 {
    tonic::include_proto!("shortener.v1");
}

// NEW(lesson 05): given: generated from the proto/link_v2.proto you finish in Exercise 1.
/// Version 2, from `proto/link_v2.proto`: `url` renamed, `clicks` removed, `title` added.
pub mod v2 {
    tonic::include_proto!("shortener.v2");
}

// NEW(lesson 05): given: generated from the proto/link_broken.proto you edit in Exercise 3.
/// Edits that break v1 bytes, from `proto/link_broken.proto`.
pub mod broken {
    tonic::include_proto!("shortener.broken");
}

use prost::DecodeError;
// TODO(lesson 05): Exercise 3: decoding needs one more trait in scope.

// NEW(lesson 05): describe_v1 is given; the functions after it are yours.
/// What a v1 program sees in a link.
pub fn describe_v1(link: &v1::Link) -> String {
    format!(
        "#{} {} -> {} ({} clicks)",
        link.id, link.short_code, link.url, link.clicks
    )
}

/// What a v2 program sees in a link.
pub fn describe_v2(link: &v2::Link) -> String {
    // TODO(lesson 05): Exercise 2: `#ID CODE -> LONG_URL titled "TITLE"`, the title quoted the
    // way `{:?}` quotes a string, so that an empty one shows as "".
    todo!("Exercise 2: describe_v2({link:?})")
}

/// The v2 program's migration: a v1 link, given a title. The click count is left behind.
pub fn upgrade(link: &v1::Link, title: &str) -> v2::Link {
    // TODO(lesson 05): Exercise 2: a v2::Link with what v1 and v2 share, and the title.
    todo!("Exercise 2: upgrade({link:?}, {title:?})")
}

/// The id a program built with `id` as `sint64` reads from `bytes`.
pub fn id_as_sint64(bytes: &[u8]) -> Result<i64, DecodeError> {
    // TODO(lesson 05): Exercise 3: read the bytes as a broken::LinkWithSint64Id.
    todo!("Exercise 3: id_as_sint64 of {} bytes", bytes.len())
}

/// The `owner` a program that reused field 4 for a string reads from `bytes`.
pub fn field_4_as_string(bytes: &[u8]) -> Result<String, DecodeError> {
    // TODO(lesson 05): Exercise 3: read the bytes as a broken::LinkWithReusedNumber.
    todo!("Exercise 3: field_4_as_string of {} bytes", bytes.len())
}
