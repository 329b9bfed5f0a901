//! Lesson 05: two versions of `Link` that read each other's bytes, and two edits that break
//! them. Each version is its own proto package, so each becomes its own Rust module.

/// Version 1, from `proto/link_v1.proto`: the `Link` of lessons 03 and 04.
pub mod v1 {
    tonic::include_proto!("shortener.v1");
}

/// Version 2, from `proto/link_v2.proto`: `url` renamed, `clicks` removed, `title` added.
pub mod v2 {
    tonic::include_proto!("shortener.v2");
}

/// Edits that break v1 bytes, from `proto/link_broken.proto`.
pub mod broken {
    tonic::include_proto!("shortener.broken");
}

use prost::{DecodeError, Message};

/// What a v1 program sees in a link.
pub fn describe_v1(link: &v1::Link) -> String {
    format!(
        "#{} {} -> {} ({} clicks)",
        link.id, link.short_code, link.url, link.clicks
    )
}

/// What a v2 program sees in a link.
pub fn describe_v2(link: &v2::Link) -> String {
    format!(
        "#{} {} -> {} titled {:?}",
        link.id, link.short_code, link.long_url, link.title
    )
}

/// The v2 program's migration: a v1 link, given a title. The click count is left behind.
pub fn upgrade(link: &v1::Link, title: &str) -> v2::Link {
    v2::Link {
        id: link.id,
        long_url: link.url.clone(),
        short_code: link.short_code.clone(),
        title: title.to_string(),
    }
}

/// The id a program built with `id` as `sint64` reads from `bytes`.
pub fn id_as_sint64(bytes: &[u8]) -> Result<i64, DecodeError> {
    Ok(broken::LinkWithSint64Id::decode(bytes)?.id)
}

/// The `owner` a program that reused field 4 for a string reads from `bytes`.
pub fn field_4_as_string(bytes: &[u8]) -> Result<String, DecodeError> {
    Ok(broken::LinkWithReusedNumber::decode(bytes)?.owner)
}
