//! Turns `proto/link.proto` into Rust before the crate compiles. No `protoc` is needed:
//! protox parses the file in Rust, and tonic-prost-build writes the messages, the server
//! trait and the client into OUT_DIR, where `tonic::include_proto!` finds them.
//!
//! NEW(lesson 15): pbjson-build reads the same descriptors and writes `shortener.serde.rs`:
//! `serde` impls that follow proto3's JSON mapping (lowerCamelCase names, int64 as strings).
//!
//! The descriptors themselves go into OUT_DIR too, as `shortener.bin`, for the reflection
//! service to answer from.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.open_file("link.proto")?;

    // Cargo reruns this script only when a file named here changes, so name every
    // `.proto` that protox read (imports included).
    for file in compiler.files() {
        if let Some(path) = file.path() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }

    tonic_prost_build::configure().compile_fds(compiler.file_descriptor_set())?;

    // NEW(lesson 15): the JSON side. `emit_fields` writes fields that hold their default value too (`"clicks":
    // "0"`), as grpc-gateway's default marshaler does, so a client never has to guess a field.
    pbjson_build::Builder::new()
        .register_descriptors(&compiler.encode_file_descriptor_set())?
        .emit_fields()
        .build(&[".shortener"])?;

    // The encoded FileDescriptorSet, which `src/lib.rs` embeds with `include_bytes!`.
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("shortener.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    Ok(())
}
