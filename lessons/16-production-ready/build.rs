//! Turns `proto/link.proto` into Rust before the crate compiles. No `protoc` is needed:
//! protox parses the file in Rust, and tonic-prost-build writes the messages, the server
//! trait and the client into OUT_DIR, where `tonic::include_proto!` finds them.
//!
//! NEW(lesson 15): pbjson-build reads the same descriptors and writes `shortener.serde.rs`:
//! `serde` impls that follow proto3's JSON mapping (lowerCamelCase names, int64 as strings).
//!
//! TODO(lesson 16): Exercise 2. The descriptors themselves go into OUT_DIR too, as
//! `shortener.bin`, for the reflection service to answer from.

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

    // TODO(lesson 16): Exercise 2. Write the encoded FileDescriptorSet into OUT_DIR as
    // `shortener.bin`, for `src/lib.rs` to embed and the reflection service to serve.
    Ok(())
}
