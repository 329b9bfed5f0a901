//! HTTP/2 keepalive: a replica that goes silent (no FIN, no RST: a machine that lost power, a
//! network that drops every packet) is noticed in seconds, not at TCP's timeout.
//!
//! The timings here are short (PINGs 200 ms apart, 300 ms for an answer) so that the tests are
//! quick; what is checked is only that the silence is noticed well within the limit, which a
//! connection without keepalive would never do.

mod replicas;

use std::time::Duration;

use replicas::relay::Relay;
use replicas::replica::{LIMIT, Replica};
use shortener_proto::GetLinkRequest;
use shortener_proto::link_service_client::LinkServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use lesson_19::balance::{self, Settings};
use lesson_19::keepalive::Keepalive;
use lesson_19::retry::classify;

fn settings() -> Settings {
    Settings {
        connect_timeout: Duration::from_secs(2),
        keepalive: Keepalive {
            interval: Duration::from_millis(200),
            timeout: Duration::from_millis(300),
            while_idle: true,
        },
        ..Settings::default()
    }
}

/// A replica behind a relay, and one connection to it through the relay, already used once.
async fn connected() -> (Replica, Relay, LinkServiceClient<Channel>) {
    let replica = Replica::start(0).await;
    replica.state.insert("abc123", "https://example.com/");
    let relay = Relay::start(replica.server.addr()).await;
    let channel = balance::endpoint(&relay.url(), &settings())
        .expect("an endpoint")
        .connect()
        .await
        .expect("connect through the relay");
    let mut client = LinkServiceClient::new(channel);
    client.get_link(get()).await.expect("a first GetLink");
    (replica, relay, client)
}

fn get() -> tonic::Request<GetLinkRequest> {
    let mut request = tonic::Request::new(GetLinkRequest {
        short_code: "abc123".to_string(),
    });
    // Far beyond the limit: what ends the call must be the keepalive, not the deadline.
    request.set_timeout(Duration::from_secs(600));
    request
}

#[tokio::test]
async fn a_call_on_a_connection_gone_silent_fails_with_unavailable_within_seconds() {
    let (_replica, relay, mut client) = connected().await;
    relay.stall();

    let answer = tokio::time::timeout(LIMIT, client.get_link(get()))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "a call on a connection gone silent was still waiting after {LIMIT:?}: is HTTP/2 \
                 keepalive set on the endpoint (Keepalive::apply: an interval and a timeout)?"
            )
        });
    let status = classify(answer.expect_err("no answer can come through a silent relay"));
    assert_eq!(
        status.code(),
        Code::Unavailable,
        "an unanswered keepalive PING closes the connection, and its calls end with \
         UNAVAILABLE, which is retried: {status:?}"
    );
}

#[tokio::test]
async fn an_idle_connection_gone_silent_is_closed_by_the_client() {
    let (_replica, mut relay, _client) = connected().await;
    relay.stall();
    // No call is open: only PINGs sent while idle can tell that the connection is dead.
    relay
        .client_closed(
            "an idle connection gone silent was still open: does the keepalive PING while \
             idle (Keepalive::while_idle)?",
        )
        .await;
}
