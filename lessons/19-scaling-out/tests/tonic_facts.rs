//! What tonic 0.14 does that the client's design answers. Each test pins one fact; when a tonic
//! upgrade changes one, its test fails, and the module named in it needs another look.

mod replicas;

use std::time::Duration;

use replicas::relay::Relay;
use replicas::replica::{LIMIT, Replica, three_replicas};
use shortener_proto::link_service_client::LinkServiceClient;
use shortener_proto::{GetLinkRequest, ListLinksRequest};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, ConnectError};

use lesson_19::retry::classify;

fn get() -> GetLinkRequest {
    GetLinkRequest {
        short_code: "abc123".to_string(),
    }
}

/// Why `balance` steers by health instead of using `Channel::balance_list` as it is.
#[tokio::test]
async fn balance_list_keeps_sending_calls_to_a_replica_that_refuses_connections() {
    let mut replicas = three_replicas().await;
    let endpoints: Vec<Endpoint> = replicas
        .iter()
        .map(|replica| Endpoint::from_shared(replica.url()).expect("a valid URL"))
        .collect();
    let client = LinkServiceClient::new(Channel::balance_list(endpoints.into_iter()));
    drop(replicas.remove(0));

    let mut refused = 0;
    for _ in 0..300 {
        let answer = tokio::time::timeout(LIMIT, client.clone().get_link(get()))
            .await
            .expect("a call within the limit");
        if let Err(status) = answer {
            assert_eq!(status.code(), Code::Unavailable, "{status:?}");
            assert!(
                caused_by::<ConnectError>(&status),
                "the failure should be a refused connection: {status:?}"
            );
            refused += 1;
        }
    }
    eprintln!("balance_list, one replica of three gone: {refused} of 300 calls refused");
    assert!(
        refused > 0,
        "300 calls over three replicas, one of them gone: tonic 0.14 should still send some \
         to it (each fails with the stored connect error); none was. If tonic now takes a \
         failing endpoint out of its balancer, src/balance.rs may be simpler."
    );
}

/// Why `retry::classify` exists.
#[tokio::test]
async fn a_call_whose_connection_breaks_ends_with_unknown_not_unavailable() {
    let replica = Replica::start(0).await;
    replica.state.insert("abc123", "https://example.com/");
    let relay = Relay::start(replica.server.addr()).await;
    let mut client = LinkServiceClient::new(connect(&relay.url()).await);
    replica.state.get_gate.arm();
    let call = tokio::spawn(async move { client.get_link(get()).await });
    replica.state.get_gate.reached().await;
    relay.reset();

    let status = tokio::time::timeout(LIMIT, call)
        .await
        .expect("the call ends once its connection is closed")
        .expect("the call's task")
        .expect_err("the connection broke under the call");
    assert_eq!(
        status.code(),
        Code::Unknown,
        "tonic 0.14 says UNKNOWN \"transport error\" for a connection that breaks under a \
         call (gRPC's statuscodes.md says UNAVAILABLE); now it says {status:?}. If it says \
         UNAVAILABLE, retry::classify has nothing left to do."
    );
    assert_eq!(classify(status).code(), Code::Unavailable);
}

/// Why ListLinks is retried until its first message, not until its response headers as
/// gRFC A6 says: a tonic server sends the headers at once, so A6's rule would never retry it.
#[tokio::test]
async fn a_tonic_server_sends_the_response_headers_before_the_first_message() {
    let replica = Replica::start(0).await;
    replica.state.insert("abc123", "https://example.com/");
    let mut client = LinkServiceClient::new(connect(&replica.url()).await);
    replica.state.list_first_gate.arm();
    let opened = tokio::time::timeout(LIMIT, client.list_links(ListLinksRequest::default()))
        .await
        .expect("the response's headers, while the server holds the first message");
    let mut links = opened.expect("an open stream").into_inner();
    replica.state.list_first_gate.reached().await;
    replica.state.list_first_gate.release();
    let first = tokio::time::timeout(LIMIT, links.message()).await;
    assert!(matches!(first, Ok(Ok(Some(_)))), "{first:?}");
}

async fn connect(url: &str) -> Channel {
    Endpoint::from_shared(url.to_string())
        .expect("a valid URL")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect")
}

fn caused_by<E: std::error::Error + 'static>(status: &tonic::Status) -> bool {
    let mut cause = std::error::Error::source(status);
    while let Some(error) = cause {
        if error.is::<E>() {
            return true;
        }
        cause = error.source();
    }
    false
}
