//! A byte-by-byte account of an encoded `Link`, written with `decode_varint` and `decode_key`.

use crate::{WireType, decode_key, decode_varint};

/// How many bytes one line of the dump shows.
const PER_LINE: usize = 8;

/// The name of a `Link` field, for the dump.
fn field_name(number: u32) -> &'static str {
    match number {
        1 => "id",
        2 => "url",
        3 => "short_code",
        4 => "clicks",
        _ => "unknown",
    }
}

/// How the dump names a wire type.
fn wire_type_name(wire_type: WireType) -> &'static str {
    match wire_type {
        WireType::Varint => "wire type 0 (varint)",
        WireType::I64 => "wire type 1 (8 bytes)",
        WireType::Len => "wire type 2 (length-delimited)",
        WireType::I32 => "wire type 5 (4 bytes)",
    }
}

/// `bytes` as hex, padded so that the meaning starts in the same column on every line.
fn line(bytes: &[u8], meaning: &str) -> String {
    let hex: Vec<String> = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{:<width$} {meaning}\n",
        hex.join(" "),
        width = PER_LINE * 3 - 1
    )
}

/// Explains every byte of an encoded `Link`, one line per key, value or 8 bytes of text.
///
/// Fails with a description of the problem if the bytes are not a well-formed message.
pub fn dump(bytes: &[u8]) -> Result<String, String> {
    let mut out = String::new();
    let mut at = 0;
    while at < bytes.len() {
        let (key, key_len) = decode_varint(&bytes[at..])
            .ok_or_else(|| format!("byte {at}: the key's varint is cut off"))?;
        let (field, wire_type) =
            decode_key(key).ok_or_else(|| format!("byte {at}: {key} is not a valid key"))?;
        let meaning = format!(
            "key: field {field} ({}), {}",
            field_name(field),
            wire_type_name(wire_type)
        );
        out += &line(&bytes[at..at + key_len], &meaning);
        at += key_len;

        let (lines, next) = explain_value(bytes, at, wire_type)?;
        out += &lines;
        at = next;
    }
    Ok(out)
}

/// Explains the value that starts at byte `at`, laid out as `wire_type` says: its lines of dump,
/// and where the next field starts. Bytes that end before the value does are an error, never a
/// panic.
fn explain_value(bytes: &[u8], at: usize, wire_type: WireType) -> Result<(String, usize), String> {
    // TODO(lesson 04): Exercise 3: the value's lines, as its wire type says, and where it ends.
    todo!(
        "Exercise 3: explain the {wire_type:?} value at byte {at} of {}",
        bytes.len()
    )
}
