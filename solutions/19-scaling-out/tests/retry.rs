//! Retries over the network: what is retried, what never is, and what stops a retry storm.

mod replicas;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use replicas::relay::Relay;
use replicas::replica::{LIMIT, Replica, three_replicas};
use solution_19::balance::{self, Balanced, Health, Settings};
use solution_19::client::{Client, Deleted};
use solution_19::idempotency::IdempotencyKey;
use solution_19::pb::ListLinksRequest;
use tokio::sync::Notify;
use tonic::Code;
use tonic::transport::Endpoint;

const TIMEOUT: Duration = Duration::from_secs(5);

fn settings() -> Settings {
    Settings {
        connect_timeout: Duration::from_secs(2),
        ..Settings::default()
    }
}

fn balanced(urls: &[String]) -> Balanced {
    balance::connect_balanced(urls, settings()).expect("a balanced channel")
}

/// One replica, and a client whose only way to it is a relay that can drop its connections.
async fn behind_a_relay() -> (Replica, Relay, Client) {
    let replica = Replica::start(0).await;
    let relay = Relay::start(replica.server.addr()).await;
    let channel = Endpoint::from_shared(relay.url())
        .expect("a valid URL")
        .connect_lazy();
    (replica, relay, Client::new(channel, TIMEOUT))
}

#[tokio::test]
async fn a_replica_killed_mid_traffic_costs_the_callers_no_error() {
    let mut replicas = three_replicas().await;
    let urls: Vec<String> = replicas.iter().map(Replica::url).collect();
    let balanced = balanced(&urls);
    let client = Client::new(balanced.channel.clone(), TIMEOUT);
    let done = Arc::new(AtomicUsize::new(0));

    // Four callers, each making GetLinks one after the other until 600 have succeeded.
    let mut callers = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        let done = done.clone();
        callers.push(tokio::spawn(async move {
            while done.load(Ordering::SeqCst) < 600 {
                client.get("abc123").await?;
                done.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<(), tonic::Status>(())
        }));
    }
    // Once traffic flows, one call is held on replica 0, which is then killed under it.
    while done.load(Ordering::SeqCst) < 200 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    replicas[0].state.get_gate.arm();
    replicas[0].state.get_gate.reached().await;
    drop(replicas.remove(0));

    for caller in callers {
        let result = tokio::time::timeout(LIMIT * 3, caller)
            .await
            .expect("the callers finish within the limit")
            .expect("a caller's task");
        if let Err(status) = result {
            panic!(
                "a caller saw an error when replica 0 was killed: {status:?}. The call that \
                 was on it must be retried elsewhere (its connection broke: UNKNOWN \"transport \
                 error\" from tonic, UNAVAILABLE once classified), and so must any sent to it \
                 before its health watch noticed."
            );
        }
    }
    eprintln!(
        "a replica killed under 4 callers: {:?}",
        client.retry_stats()
    );
    assert!(
        client.retry_stats().retries >= 1,
        "the call held on the killed replica was retried: {:?}",
        client.retry_stats()
    );
}

#[tokio::test]
async fn a_create_without_a_key_is_never_retried() {
    let (replica, relay, client) = behind_a_relay().await;
    replica.state.create_gate.arm();
    let create = tokio::spawn({
        let client = client.clone();
        async move { client.create_with_key("https://example.com/a", None).await }
    });
    replica.state.create_gate.reached().await;
    relay.reset(); // the link is stored; the answer is lost

    let answer = tokio::time::timeout(LIMIT, create)
        .await
        .expect("the create ends once its connection is closed")
        .expect("the create's task");
    let status = match answer {
        Err(status) => status,
        Ok(link) => panic!(
            "a create without an idempotency key was retried after its answer was lost, and \
             the retry made {link:?}: the first attempt had already stored a link"
        ),
    };
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        (
            replica.state.creates.load(Ordering::SeqCst),
            replica.state.link_count()
        ),
        (1, 1),
        "a create without an idempotency key must not be retried: the server may have \
         stored it, and a retry would store a second link"
    );
}

#[tokio::test]
async fn a_create_retried_after_a_lost_answer_makes_one_link() {
    let (replica, relay, client) = behind_a_relay().await;
    replica.state.create_gate.arm();
    let create = tokio::spawn({
        let client = client.clone();
        async move { client.create("https://example.com/a").await }
    });
    replica.state.create_gate.reached().await;
    relay.reset(); // the link is stored; the answer is lost

    let link = tokio::time::timeout(LIMIT, create)
        .await
        .expect("the create ends within the limit")
        .expect("the create's task")
        .expect("a create with a key is retried, and the retry answers with the stored link");
    assert_eq!(
        (
            replica.state.creates.load(Ordering::SeqCst),
            replica.state.link_count()
        ),
        (2, 1),
        "two attempts, one link"
    );
    let keys = replica.state.keys.lock().expect("keys").clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[0], keys[1],
        "the retry must carry the first attempt's key, or the server cannot know it is one create"
    );
    assert_eq!(link.url, "https://example.com/a");
    assert_eq!(link.id, 1, "the link stored by the first attempt");
}

#[tokio::test]
async fn two_creates_carry_two_different_keys() {
    let (replica, _relay, client) = behind_a_relay().await;
    let first = client
        .create("https://example.com/a")
        .await
        .expect("a create");
    let second = client
        .create("https://example.com/a")
        .await
        .expect("a create");
    let keys = replica.state.keys.lock().expect("keys").clone();
    assert_eq!(keys.len(), 2);
    assert_ne!(
        keys[0], keys[1],
        "each logical create needs a key of its own: a shared key makes the second create \
         answer with the first link"
    );
    for key in &keys {
        assert_eq!(key.len(), 32, "128 bits as hex: {key}");
    }
    assert_ne!(first.id, second.id, "two creates of one URL are two links");
}

#[tokio::test]
async fn a_key_given_is_the_key_sent() {
    let (replica, _relay, client) = behind_a_relay().await;
    let key = IdempotencyKey::from_u128(19);
    let first = client
        .create_with_key("https://example.com/a", Some(key.clone()))
        .await
        .expect("a create");
    let again = client
        .create_with_key("https://example.com/a", Some(key.clone()))
        .await
        .expect("a create");
    assert_eq!(first, again, "one key, one link");
    let keys = replica.state.keys.lock().expect("keys").clone();
    assert_eq!(keys, [key.to_string(), key.to_string()]);
}

#[tokio::test]
async fn a_delete_retried_after_a_lost_answer_reports_it_gone() {
    let (replica, relay, client) = behind_a_relay().await;
    replica.state.insert("abc123", "https://example.com/");
    replica.state.delete_gate.arm();
    let delete = tokio::spawn({
        let client = client.clone();
        async move { client.delete("abc123").await }
    });
    replica.state.delete_gate.reached().await;
    relay.reset(); // deleted; the answer is lost

    let deleted = tokio::time::timeout(LIMIT, delete)
        .await
        .expect("the delete ends within the limit")
        .expect("the delete's task");
    assert_eq!(
        deleted.expect("the retry's NOT_FOUND, after a lost answer, is not an error"),
        Deleted::AlreadyGone,
        "the retry found the code gone: most likely deleted by the first attempt"
    );
    assert_eq!(replica.state.deletes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_delete_of_an_unknown_code_is_not_found_and_not_retried() {
    let (replica, _relay, client) = behind_a_relay().await;
    let status = client
        .delete("zzz999")
        .await
        .expect_err("no link has this code");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(replica.state.deletes.load(Ordering::SeqCst), 1);
    assert_eq!(client.retry_stats().attempts, 1);
}

#[tokio::test]
async fn a_list_broken_before_its_first_link_is_retried() {
    let (replica, relay, client) = behind_a_relay().await;
    for code in ["aaa111", "bbb222", "ccc333"] {
        replica.state.insert(code, "https://example.com/");
    }
    replica.state.list_first_gate.arm();
    let list = tokio::spawn({
        let client = client.clone();
        async move {
            let mut codes = Vec::new();
            let count = client
                .list(ListLinksRequest::default(), |link| {
                    codes.push(link.short_code)
                })
                .await?;
            Ok::<_, tonic::Status>((count, codes))
        }
    });
    replica.state.list_first_gate.reached().await;
    relay.reset();

    let (count, codes) = tokio::time::timeout(LIMIT, list)
        .await
        .expect("the list ends within the limit")
        .expect("the list's task")
        .expect("a list broken before its first link is retried");
    assert_eq!(count, 3);
    assert_eq!(codes, ["aaa111", "bbb222", "ccc333"], "every link once");
    assert_eq!(replica.state.lists.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_list_broken_after_its_first_link_is_not_retried() {
    let (replica, relay, client) = behind_a_relay().await;
    for code in ["aaa111", "bbb222", "ccc333"] {
        replica.state.insert(code, "https://example.com/");
    }
    replica.state.list_next_gate.arm();
    let first_arrived = Arc::new(Notify::new());
    let list = tokio::spawn({
        let client = client.clone();
        let first_arrived = first_arrived.clone();
        async move {
            let mut codes = Vec::new();
            let listed = client
                .list(ListLinksRequest::default(), |link| {
                    codes.push(link.short_code);
                    first_arrived.notify_one();
                })
                .await;
            (listed, codes)
        }
    });
    tokio::time::timeout(LIMIT, first_arrived.notified())
        .await
        .expect("the first link reaches the caller");
    relay.reset();

    let (listed, codes) = tokio::time::timeout(LIMIT, list)
        .await
        .expect("the list ends within the limit")
        .expect("the list's task");
    let status = match listed {
        Err(status) => status,
        Ok(count) => panic!(
            "a list was retried after its first link had reached the caller, which then got \
             {count} links from the retry on top of the first: {codes:?}"
        ),
    };
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        codes,
        ["aaa111"],
        "a list is not retried once a link reached the caller: a new attempt would hand it \
         the same links again"
    );
    assert_eq!(replica.state.lists.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_call_the_server_refuses_is_not_retried() {
    let (replica, _relay, client) = behind_a_relay().await;
    let status = client
        .get("zzz999")
        .await
        .expect_err("no link has this code");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(replica.state.gets.load(Ordering::SeqCst), 1);
    assert_eq!(client.retry_stats().attempts, 1);
}

#[tokio::test]
async fn when_every_replica_is_down_the_budget_stops_the_retries() {
    let replicas = three_replicas().await;
    let urls: Vec<String> = replicas.iter().map(Replica::url).collect();
    drop(replicas);
    let balanced = balanced(&urls);
    assert!(
        balanced
            .replicas
            .wait_for(LIMIT, |s| s.iter().all(|s| s.health == Health::Down))
            .await,
        "the replicas seen down: {:?}",
        balanced.replicas.statuses()
    );
    let client = Client::new(balanced.channel.clone(), TIMEOUT);

    // The default budget: 100 tokens, retries while more than 50 are left. Each failed
    // attempt takes one, so at most 50 retries in all, whatever the number of calls.
    for _ in 0..100 {
        let status = tokio::time::timeout(LIMIT, client.get("abc123"))
            .await
            .expect("a call fails fast when every replica is down")
            .expect_err("every replica is down");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    let spent = client.retry_stats();
    assert!(
        spent.retries <= 50,
        "100 calls, every replica down: the budget allows at most 50 retries in all, not the \
         policy's 3 per call; {spent:?}"
    );
    for _ in 0..10 {
        let status = client
            .get("abc123")
            .await
            .expect_err("every replica is down");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    let after = client.retry_stats();
    assert_eq!(
        (
            after.attempts - spent.attempts,
            after.retries - spent.retries
        ),
        (10, 0),
        "with the budget spent, each call makes one attempt and fails at once"
    );
    assert_eq!(after.throttled - spent.throttled, 10, "{after:?}");
}
