//! Compiles `shortener/link.proto` with protox (a protobuf compiler written in Rust), so no
//! `protoc` binary is needed, then generates prost messages and a tonic client and server.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut compiler = protox::Compiler::new(["."])?;
    compiler.open_file("shortener/link.proto")?;
    for file in compiler.files() {
        if let Some(path) = file.path() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    tonic_prost_build::configure().compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
