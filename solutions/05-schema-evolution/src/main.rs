//! One link written by v1 and by v2, and read back by both; then the same v1 bytes read by the
//! two broken schemas.

use prost::Message;

use solution_05::{describe_v1, describe_v2, field_4_as_string, id_as_sint64, upgrade, v1, v2};

/// What a v1 program and a v2 program each read from the same bytes.
fn read_with_both(bytes: &[u8]) -> Result<(), prost::DecodeError> {
    println!("  v1 reads: {}", describe_v1(&v1::Link::decode(bytes)?));
    println!("  v2 reads: {}", describe_v2(&v2::Link::decode(bytes)?));
    Ok(())
}

fn main() -> Result<(), prost::DecodeError> {
    let link = v1::Link {
        id: 300,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 1500,
    };
    let old_bytes = link.encode_to_vec();
    println!("v1 writes {} bytes: {link:?}", old_bytes.len());
    read_with_both(&old_bytes)?;

    let newer = upgrade(&link, "Article one");
    let new_bytes = newer.encode_to_vec();
    println!("v2 writes {} bytes: {newer:?}", new_bytes.len());
    read_with_both(&new_bytes)?;

    println!();
    println!("the v1 bytes, read by the broken schemas:");
    println!(
        "  id as sint64: {} (v1 wrote {})",
        id_as_sint64(&old_bytes)?,
        link.id
    );
    match field_4_as_string(&old_bytes) {
        Ok(owner) => println!("  field 4 as a string: {owner:?}"),
        Err(error) => println!("  field 4 as a string: error: {error}"),
    }
    let no_clicks = v1::Link { clicks: 0, ..link }.encode_to_vec();
    println!(
        "  field 4 as a string, when clicks is 0: {:?}",
        field_4_as_string(&no_clicks)?
    );
    Ok(())
}
