//! One channel over three replicas: where calls go, and what one HTTP/2 connection means for
//! balancing.

mod replicas;

use std::sync::atomic::Ordering;
use std::time::Duration;

use replicas::relay::{Relay, RoundRobin};
use replicas::replica::{LIMIT, Replica, three_replicas};
use shortener_proto::SyncRequest;
use shortener_proto::link_service_client::LinkServiceClient;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;

use solution_19::balance::{self, Balanced, Error, Health, ReplicaStatus, Settings};
use solution_19::client::Client;

const TIMEOUT: Duration = Duration::from_secs(5);

fn settings() -> Settings {
    Settings {
        connect_timeout: Duration::from_secs(2),
        ..Settings::default()
    }
}

fn balanced(replicas: &[Replica]) -> Balanced {
    let urls: Vec<String> = replicas.iter().map(Replica::url).collect();
    balance::connect_balanced(&urls, settings()).expect("a balanced channel")
}

async fn wait_for(balanced: &Balanced, what: &str, ready: impl FnMut(&[ReplicaStatus]) -> bool) {
    assert!(
        balanced.replicas.wait_for(LIMIT, ready).await,
        "{what} within {LIMIT:?}; the replicas are {:?}",
        balanced.replicas.statuses()
    );
}

fn all_serving(statuses: &[ReplicaStatus]) -> bool {
    statuses
        .iter()
        .all(|s| s.health == Health::Serving && s.in_use)
}

fn gets(replicas: &[Replica]) -> Vec<usize> {
    replicas
        .iter()
        .map(|replica| replica.state.gets.load(Ordering::SeqCst))
        .collect()
}

#[tokio::test]
async fn new_unary_calls_spread_over_every_replica() {
    let replicas = three_replicas().await;
    let balanced = balanced(&replicas);
    wait_for(&balanced, "every replica serving", all_serving).await;
    let client = Client::new(balanced.channel.clone(), TIMEOUT);

    for _ in 0..300 {
        client.get("abc123").await.expect("a GetLink");
    }
    // Each call draws its replica at random: about 100 each. Fewer than 50 on one of them has
    // odds under one in ten million.
    let served = gets(&replicas);
    assert!(
        served.iter().all(|count| *count >= 50),
        "300 GetLinks over three replicas should spread, about 100 each; each replica served {served:?}"
    );
}

#[tokio::test]
async fn a_stream_stays_on_the_replica_where_it_was_opened() {
    let replicas = three_replicas().await;
    let balanced = balanced(&replicas);
    wait_for(&balanced, "every replica serving", all_serving).await;
    let client = Client::new(balanced.channel.clone(), TIMEOUT);
    let mut raw = LinkServiceClient::new(balanced.channel.clone());

    let (requests, outgoing) = mpsc::channel(4);
    let mut answers = raw
        .sync_clicks(ReceiverStream::new(outgoing))
        .await
        .expect("a SyncClicks stream")
        .into_inner();
    let mut answered_by = Vec::new();
    for _ in 0..60 {
        // Unary calls between the stream's messages: each is balanced on its own.
        client.get("abc123").await.expect("a GetLink");
        let request = SyncRequest {
            short_code: "abc123".to_string(),
            clicks: 1,
        };
        requests.send(request).await.expect("the stream is open");
        let answer = tokio::time::timeout(LIMIT, answers.message())
            .await
            .expect("an answer within the limit")
            .expect("an answer")
            .expect("the stream is open");
        answered_by.push(answer.total_clicks); // the fake replica's index
    }

    let first = answered_by[0];
    assert!(
        answered_by.iter().all(|replica| *replica == first),
        "every message of one stream goes to the replica that took the stream: the balancer \
         picks a replica per call, and a stream is one call; they went to {answered_by:?}"
    );
    let syncs: Vec<usize> = replicas
        .iter()
        .map(|replica| replica.state.syncs.load(Ordering::SeqCst))
        .collect();
    assert_eq!(
        syncs.iter().filter(|count| **count > 0).count(),
        1,
        "{syncs:?}"
    );
    let served = gets(&replicas);
    assert!(
        served.iter().all(|count| *count > 0),
        "the 60 unary calls made meanwhile spread over all three: {served:?}"
    );
}

/// The reason to balance in the client: a TCP balancer balances connections, and HTTP/2 puts
/// every call of a channel on one connection.
#[tokio::test]
async fn one_connection_through_a_tcp_balancer_sends_every_call_to_one_replica() {
    let replicas = three_replicas().await;
    let balancer = RoundRobin::start(replicas.iter().map(|r| r.server.addr()).collect()).await;
    let channel = Endpoint::from_shared(balancer.url())
        .expect("a valid URL")
        .connect()
        .await
        .expect("connect through the TCP balancer");
    let client = Client::new(channel, TIMEOUT);

    for _ in 0..60 {
        client.get("abc123").await.expect("a GetLink");
    }
    let mut served = gets(&replicas);
    served.sort_unstable();
    assert_eq!(
        served,
        [0, 0, 60],
        "one channel through a round-robin TCP balancer is one TCP connection, to one replica"
    );
}

#[tokio::test]
async fn a_replica_that_refuses_connections_gets_no_calls() {
    let mut replicas = three_replicas().await;
    let balanced = balanced(&replicas);
    wait_for(&balanced, "every replica serving", all_serving).await;
    drop(replicas.remove(0));
    wait_for(&balanced, "the stopped replica out of use", |statuses| {
        statuses[0].health == Health::Down && !statuses[0].in_use
    })
    .await;

    let client = Client::new(balanced.channel.clone(), TIMEOUT);
    for _ in 0..100 {
        client.get("abc123").await.expect("a GetLink");
    }
    let stats = client.retry_stats();
    assert_eq!(
        (stats.attempts, stats.retries),
        (100, 0),
        "once its health watch has failed, the stopped replica is out of the balancer, and \
         no call is sent there only to fail and be retried"
    );
}

#[tokio::test]
async fn a_replica_that_says_not_serving_gets_no_new_calls_and_ends_those_it_has() {
    let replicas = three_replicas().await;
    let balanced = balanced(&replicas);
    wait_for(&balanced, "every replica serving", all_serving).await;
    let client = Client::new(balanced.channel.clone(), TIMEOUT);

    // A call held on whichever replica gets it.
    for replica in &replicas {
        replica.state.get_gate.arm();
    }
    let held = tokio::spawn({
        let client = client.clone();
        async move { client.get("abc123").await }
    });
    let draining = tokio::select! {
        () = replicas[0].state.get_gate.reached() => 0,
        () = replicas[1].state.get_gate.reached() => 1,
        () = replicas[2].state.get_gate.reached() => 2,
    };
    for replica in &replicas {
        replica.state.get_gate.disarm();
    }

    // It starts draining, as lesson 16's server does on SIGTERM.
    replicas[draining].state.set_serving(false).await;
    wait_for(&balanced, "the draining replica out of use", |statuses| {
        statuses[draining].health == Health::Down && !statuses[draining].in_use
    })
    .await;
    let before = gets(&replicas)[draining];
    for _ in 0..60 {
        client.get("abc123").await.expect("a GetLink");
    }
    assert_eq!(
        gets(&replicas)[draining],
        before,
        "no new call goes to a replica that says NOT_SERVING"
    );

    replicas[draining].state.get_gate.release();
    let answer = tokio::time::timeout(LIMIT, held)
        .await
        .expect("the held call ends once released")
        .expect("the call's task");
    assert!(
        answer.is_ok(),
        "a call in flight on a replica taken out of the balancer still gets its answer: {answer:?}"
    );
    assert_eq!(client.retry_stats().retries, 0);

    replicas[draining].state.set_serving(true).await;
    wait_for(
        &balanced,
        "the replica back in use once SERVING",
        all_serving,
    )
    .await;
}

#[tokio::test]
async fn when_every_replica_is_down_all_stay_in_use() {
    let replicas = three_replicas().await;
    let balanced = balanced(&replicas);
    wait_for(&balanced, "every replica serving", all_serving).await;
    drop(replicas);
    wait_for(&balanced, "every replica down, and in use", |statuses| {
        statuses
            .iter()
            .all(|s| s.health == Health::Down && s.in_use)
    })
    .await;
}

#[tokio::test]
async fn dropping_the_channel_ends_its_connections_and_health_watches() {
    let replica = Replica::start(0).await;
    replica.state.insert("abc123", "https://example.com/");
    let mut relay = Relay::start(replica.server.addr()).await;
    let balanced = balance::connect_balanced([relay.url()], settings()).expect("a channel");
    wait_for(&balanced, "the replica serving", all_serving).await;
    let client = Client::new(balanced.channel.clone(), TIMEOUT);
    client.get("abc123").await.expect("a GetLink");

    drop(client);
    drop(balanced);
    for connection in ["one", "the other"] {
        relay
            .client_closed(&format!(
                "{connection} of the two connections (the calls', the health watch's) is still \
                 open after every clone of the channel was dropped: does a task outlive it?"
            ))
            .await;
    }
}

#[test]
fn addresses_that_make_no_channel_are_errors() {
    let no_address: [&str; 0] = [];
    assert!(matches!(
        balance::connect_balanced(no_address, Settings::default()),
        Err(Error::NoAddress)
    ));
    assert!(matches!(
        balance::connect_balanced(["127.0.0.1:1", "not a host"], Settings::default()),
        Err(Error::BadAddress { .. })
    ));
    assert!(matches!(
        balance::connect_balanced(["127.0.0.1:1", "http://127.0.0.1:1"], Settings::default()),
        Err(Error::Repeated(_))
    ));
    assert!(
        matches!(
            balance::connect_balanced(["127.0.0.1:1"], Settings::default()),
            Err(Error::NoRuntime)
        ),
        "outside a tokio runtime: an error, not tonic's panic"
    );
}
