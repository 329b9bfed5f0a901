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
        let kind = match wire_type {
            WireType::Varint => "wire type 0 (varint)",
            WireType::I64 => "wire type 1 (8 bytes)",
            WireType::Len => "wire type 2 (length-delimited)",
            WireType::I32 => "wire type 5 (4 bytes)",
        };
        let name = field_name(field);
        out += &line(
            &bytes[at..at + key_len],
            &format!("key: field {field} ({name}), {kind}"),
        );
        at += key_len;

        match wire_type {
            WireType::Varint => {
                let (value, len) = decode_varint(&bytes[at..])
                    .ok_or_else(|| format!("byte {at}: the varint is cut off"))?;
                out += &line(&bytes[at..at + len], &format!("varint: {value}"));
                at += len;
            }
            WireType::Len => {
                let (len, len_len) = decode_varint(&bytes[at..])
                    .ok_or_else(|| format!("byte {at}: the length is cut off"))?;
                out += &line(&bytes[at..at + len_len], &format!("length: {len} bytes"));
                at += len_len;
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|len| at.checked_add(len))
                    .filter(|&end| end <= bytes.len())
                    .ok_or_else(|| format!("byte {at}: {len} bytes announced, fewer left"))?;
                for chunk in bytes[at..end].chunks(PER_LINE) {
                    out += &line(chunk, &format!("{:?}", String::from_utf8_lossy(chunk)));
                }
                at = end;
            }
            WireType::I64 | WireType::I32 => {
                let size = if wire_type == WireType::I64 { 8 } else { 4 };
                let end = at + size;
                if end > bytes.len() {
                    return Err(format!("byte {at}: {size} bytes announced, fewer left"));
                }
                out += &line(&bytes[at..end], &format!("{size} fixed bytes"));
                at = end;
            }
        }
    }
    Ok(out)
}
