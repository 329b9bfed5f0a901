//! Lesson 03's checks: `proto/link.proto` holds the unary part of the contract, `build.rs`
//! turned it into messages, a server trait and a client, and `cargo run` prints what the
//! generated types encode.
//!
//! Two kinds of test live here. Some encode messages with your generated types and decode the
//! bytes with the course's contract (`proto/shortener/link.proto` at the top of the repository),
//! the way a program in any other language would read them. Others open the Rust file that
//! `build.rs` wrote into OUT_DIR and look for the server trait and the client in it. Please don't
//! edit them: `cargo quiz check 03` runs them as they are.

use std::process::Command;

use prost::Message;

use lesson_03::pb::Link;
use lesson_03::{create_link_request, get_link_response, service_name};

/// The Rust file that tonic-prost-build generated from `package shortener;`.
fn generated_code() -> String {
    let path = concat!(env!("OUT_DIR"), "/shortener.rs");
    std::fs::read_to_string(path).expect("build.rs should have written shortener.rs into OUT_DIR")
}

/// The text of `pub mod NAME { ... }` in the generated code, or "" if there is no such module.
fn generated_module(code: &str, name: &str) -> String {
    let start = format!("pub mod {name} {{");
    let Some(begin) = code.find(&start) else {
        return String::new();
    };
    let rest = &code[begin + start.len()..];
    let end = rest.find("pub mod ").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The text of `pub struct NAME ...` in the generated code, up to its closing brace, or "".
fn generated_struct(code: &str, name: &str) -> String {
    let start = format!("pub struct {name} ");
    let Some(begin) = code.find(&start) else {
        return String::new();
    };
    let rest = &code[begin..];
    let end = rest.find('}').map_or(rest.len(), |end| end + 1);
    rest[..end].to_string()
}

/// The declaration of `async fn METHOD(...)` in the generated server trait, up to its `;`.
fn trait_method(code: &str, method: &str) -> String {
    let server = generated_module(code, "link_service_server");
    let start = format!("async fn {method}(");
    let Some(begin) = server.find(&start) else {
        return String::new();
    };
    let rest = &server[begin..];
    let end = rest.find(';').unwrap_or(rest.len());
    rest[..end].to_string()
}

#[test]
fn the_service_is_known_as_package_dot_service() {
    assert_eq!(
        service_name(),
        "shortener.LinkService",
        "gRPC names a service `package.Service`: is `service LinkService` in `package shortener;`?"
    );
}

#[test]
fn a_create_link_request_carries_the_url_in_field_1() {
    let bytes = create_link_request("https://example.com/article-one");
    let request = shortener_proto::CreateLinkRequest::decode(bytes.as_slice())
        .expect("the bytes should decode as the contract's CreateLinkRequest");
    assert_eq!(
        request.url, "https://example.com/article-one",
        "CreateLinkRequest should be `string url = 1;`"
    );
}

#[test]
fn a_get_link_response_carries_the_link_in_field_1() {
    let link = Link {
        id: 7,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 3,
    };
    let bytes = get_link_response(link);
    let response = shortener_proto::GetLinkResponse::decode(bytes.as_slice())
        .expect("the bytes should decode as the contract's GetLinkResponse");
    let expected = shortener_proto::Link {
        id: 7,
        url: "https://example.com/article-one".to_string(),
        short_code: "k7m2px".to_string(),
        clicks: 3,
    };
    assert_eq!(
        response.link,
        Some(expected),
        "GetLinkResponse should be `Link link = 1;`, with every field of the link kept"
    );
}

#[test]
fn every_unary_message_is_generated() {
    let code = generated_code();
    for message in [
        "Link",
        "CreateLinkRequest",
        "CreateLinkResponse",
        "GetLinkRequest",
        "GetLinkResponse",
        "DeleteLinkRequest",
        "DeleteLinkResponse",
    ] {
        assert!(
            code.contains(&format!("pub struct {message} ")),
            "no `pub struct {message}` in OUT_DIR/shortener.rs: add `message {message}` to proto/link.proto"
        );
    }
}

#[test]
fn get_and_delete_requests_carry_the_short_code_in_field_1() {
    let code = generated_code();
    for message in ["GetLinkRequest", "DeleteLinkRequest"] {
        let text = generated_struct(&code, message);
        assert!(
            text.contains("#[prost(string, tag = \"1\")]") && text.contains("pub short_code:"),
            "`message {message}` should hold one field: the short code, a string, number 1. OUT_DIR/shortener.rs has:\n{}",
            if text.is_empty() {
                "(no such struct)"
            } else {
                &text
            }
        );
    }
    assert!(
        code.contains("pub struct DeleteLinkResponse {}"),
        "`message DeleteLinkResponse {{}}` should be empty: a delete has nothing to return yet"
    );
}

#[test]
fn each_rpc_takes_its_own_request_and_returns_its_own_response() {
    let code = generated_code();
    for (rpc, method) in [
        ("CreateLink", "create_link"),
        ("GetLink", "get_link"),
        ("DeleteLink", "delete_link"),
    ] {
        let declaration = trait_method(&code, method);
        assert!(
            declaration.contains(&format!("tonic::Request<super::{rpc}Request>"))
                && declaration.contains(&format!("tonic::Response<super::{rpc}Response>")),
            "the RPC {rpc} should take a {rpc}Request and return a {rpc}Response. The generated trait says:\n{}",
            if declaration.is_empty() {
                "(no such method)"
            } else {
                &declaration
            }
        );
    }
}

#[test]
fn the_server_trait_has_the_three_unary_rpcs() {
    let server = generated_module(&generated_code(), "link_service_server");
    assert!(
        server.contains("pub trait LinkService:"),
        "no `link_service_server::LinkService` trait was generated: add `service LinkService {{ ... }}` to proto/link.proto"
    );
    for (rpc, method) in [
        ("CreateLink", "create_link"),
        ("GetLink", "get_link"),
        ("DeleteLink", "delete_link"),
    ] {
        assert!(
            server.contains(&format!("async fn {method}(")),
            "the LinkService trait has no `{method}` method: add `rpc {rpc}(...) returns (...);` to the service"
        );
    }
    assert!(
        server.contains("pub struct LinkServiceServer<T>"),
        "the server wrapper `link_service_server::LinkServiceServer` should be generated too"
    );
}

#[test]
fn the_client_has_the_three_unary_rpcs() {
    let client = generated_module(&generated_code(), "link_service_client");
    assert!(
        client.contains("pub struct LinkServiceClient<T>"),
        "no `link_service_client::LinkServiceClient` was generated: add `service LinkService {{ ... }}` to proto/link.proto"
    );
    for (rpc, method) in [
        ("CreateLink", "create_link"),
        ("GetLink", "get_link"),
        ("DeleteLink", "delete_link"),
    ] {
        assert!(
            client.contains(&format!("pub async fn {method}(")),
            "the client has no `{method}` method: add `rpc {rpc}(...) returns (...);` to the service"
        );
    }
}

#[test]
fn cargo_run_prints_the_service_and_the_sizes() {
    let output = Command::new(env!("CARGO_BIN_EXE_lesson-03"))
        .output()
        .expect("the crate's binary (src/main.rs) should start");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "`cargo run` should exit with success; a todo!() left in src/lib.rs panics.\nIt printed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = "\
service shortener.LinkService
CreateLinkRequest: 33 bytes
GetLinkResponse:   45 bytes
";
    assert_eq!(
        stdout, expected,
        "src/main.rs should print exactly the three lines of the lesson's \"Run it\" (Exercise 3): compare line by line, spaces included"
    );
}
