//! Lesson 02: `proto/link.proto` uses most of proto3, and `build.rs` turns it into Rust.
//! This file builds one `Link` with every kind of field, and reads it back field by field.

/// The code that `build.rs` generated from `proto/link.proto`.
pub mod pb {
    tonic::include_proto!("shortener");
}

use std::collections::HashMap;

use pb::link::{Expiry, Owner};
use pb::{Link, LinkStatus};

/// A link that sets every field of `Link`, to show what each one becomes in Rust.
pub fn example_link() -> Link {
    let mut link = Link {
        id: 1,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 42,
        // A message field is an Option: it may be absent.
        owner: Some(Owner {
            email: "ada@example.com".to_string(),
            verified: true,
        }),
        tags: vec!["docs".to_string(), "launch".to_string()],
        labels: HashMap::from([
            ("campaign".to_string(), "spring".to_string()),
            ("source".to_string(), "newsletter".to_string()),
        ]),
        expiry: Some(Expiry::MaxClicks(1000)),
        // An enum field is an i32; the setter below stores a LinkStatus in it.
        ..Default::default()
    };
    link.set_status(LinkStatus::Active);
    link
}

/// One line per field, in a stable order, for people to read.
pub fn describe(link: &Link) -> String {
    let mut lines = vec![format!(
        "link {}: {} -> {} ({} clicks)",
        link.id, link.short_code, link.url, link.clicks
    )];

    // The getter turns the stored i32 into a LinkStatus, and unknown numbers into Unspecified.
    lines.push(format!("status: {:?}", link.status()));

    lines.push(match &link.owner {
        Some(owner) if owner.verified => format!("owner: {} (verified)", owner.email),
        Some(owner) => format!("owner: {}", owner.email),
        None => "owner: none".to_string(),
    });

    lines.push(format!("tags: {}", link.tags.join(", ")));

    // A HashMap has no order; sort the labels so the output is the same on every run.
    let mut labels: Vec<String> = link
        .labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    labels.sort();
    lines.push(format!("labels: {}", labels.join(", ")));

    lines.push(match &link.expiry {
        Some(Expiry::ExpiresAt(time)) => format!("expires: at {time}"),
        Some(Expiry::MaxClicks(clicks)) => format!("expires: after {clicks} clicks"),
        None => "expires: never".to_string(),
    });

    lines.join("\n")
}
