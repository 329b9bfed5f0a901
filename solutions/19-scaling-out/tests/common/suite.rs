//! The rules every store follows, each a function over any `Backend`. `store_suite!` makes one
//! test per rule for a store, so the stores provably agree: the in-memory store is the
//! reference, and SQLite and PostgreSQL pass the same cases.

use std::collections::HashSet;

use solution_19::pb::{Link, SyncRequest, SyncResponse};
use solution_19::{Keyed, PlannedCodes, Store, StoreError};

use super::{Backend, ThenStuck, ids, planned_codes, url};

/// `store_suite!(module, backend)`: in `module`, one test per rule of the suite, for the
/// backend the expression makes (a future of `Option<Backend>`: `None` skips, as where
/// PostgreSQL is not installed). Each case has a time limit: a store that never answers fails
/// instead of hanging.
#[macro_export]
macro_rules! store_suite {
    ($module:ident, $backend:expr) => {
        $crate::store_suite!(@cases $module, $backend;
            ids_start_at_1_and_increase_in_the_order_given,
            a_link_is_stored_exactly_as_given,
            a_colliding_code_is_drawn_again_never_overwritten,
            codes_within_one_batch_are_distinct,
            a_retired_code_is_never_drawn_again,
            delete_answers_whether_there_was_a_live_link,
            a_batch_is_all_or_nothing,
            an_empty_batch_creates_nothing,
            clicks_follow_the_rules_of_lesson_11,
            clicks_in_one_batch_accumulate_in_order,
            a_deleted_link_takes_no_clicks,
            pages_follow_ids_and_skip_deleted_links,
            get_sees_every_acknowledged_write,
            concurrent_clicks_lose_nothing,
            concurrent_creates_get_distinct_codes_and_ids,
            a_repeated_idempotency_key_returns_the_first_link,
        );
    };
    (@cases $module:ident, $backend:expr; $($case:ident),* $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(mut backend) = $backend.await else { return };
                    let case = common::suite::$case(&mut backend);
                    tokio::time::timeout(std::time::Duration::from_secs(60), case)
                        .await
                        .expect(concat!(
                            stringify!($case),
                            " did not finish in 60 s: a write that is never answered (a \
                             writer that stopped, a lost oneshot) or a lock held across an \
                             await"
                        ));
                    common::Backend::finish(backend).await;
                }
            )*
        }
    };
}

fn planned(codes: &[&str]) -> Box<PlannedCodes> {
    Box::new(planned_codes(codes.iter().copied()))
}

fn click(code: &str, clicks: i64) -> SyncRequest {
    SyncRequest {
        short_code: code.to_string(),
        clicks,
    }
}

fn answer(code: &str, total_clicks: i64, acknowledged: bool) -> SyncResponse {
    SyncResponse {
        short_code: code.to_string(),
        total_clicks,
        acknowledged,
    }
}

async fn create<S: Store>(store: &S, urls: impl IntoIterator<Item = String>) -> Vec<Link> {
    store
        .create(urls.into_iter().collect())
        .await
        .expect("create must succeed")
}

async fn all<S: Store>(store: &S) -> Vec<Link> {
    store.page(0, usize::MAX).await.expect("page must succeed")
}

pub async fn ids_start_at_1_and_increase_in_the_order_given<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&[])).await;
    let first = create(&store, (1..=3).map(url)).await;
    assert_eq!(
        ids(&first),
        [1, 2, 3],
        "the first links get ids 1, 2, 3, in the order of the URLs"
    );
    let next = create(&store, [url(4)]).await;
    assert_eq!(ids(&next), [4], "the next create goes on from the last id");
}

pub async fn a_link_is_stored_exactly_as_given<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["k7m2px"])).await;
    let sent = "https://example.com/a%20b?q=1&r=ü#frag".to_string();
    let link = create(&store, [sent.clone()]).await.remove(0);
    let expected = Link {
        id: 1,
        url: sent,
        short_code: "k7m2px".into(),
        clicks: 0,
    };
    assert_eq!(
        link, expected,
        "the URL exactly as sent, the code from the source, no clicks"
    );
    assert_eq!(
        store.get("k7m2px").await,
        Ok(Some(expected)),
        "get returns the link as created"
    );
}

pub async fn a_colliding_code_is_drawn_again_never_overwritten<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa", "aaaaaa", "bbbbbb"])).await;
    let first = create(&store, [url(1)]).await.remove(0);
    let second = create(&store, [url(2)]).await.remove(0);
    assert_eq!(first.short_code, "aaaaaa");
    assert_eq!(
        second.short_code, "bbbbbb",
        "the second link drew aaaaaa, which is taken: it must draw again"
    );
    let kept = store
        .get("aaaaaa")
        .await
        .expect("get")
        .expect("aaaaaa is still there");
    assert_eq!(
        kept.url,
        url(1),
        "a colliding code must never overwrite the link that has it"
    );
}

pub async fn codes_within_one_batch_are_distinct<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa", "aaaaaa", "bbbbbb"])).await;
    let links = create(&store, [url(1), url(2)]).await;
    let codes: Vec<&str> = links.iter().map(|link| link.short_code.as_str()).collect();
    assert_eq!(
        codes,
        ["aaaaaa", "bbbbbb"],
        "a batch's second link collided with its first"
    );
}

pub async fn a_retired_code_is_never_drawn_again<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa", "aaaaaa", "bbbbbb"])).await;
    create(&store, [url(1)]).await;
    assert_eq!(store.delete("aaaaaa").await, Ok(true));
    let next = create(&store, [url(2)]).await.remove(0);
    assert_eq!(
        next.short_code, "bbbbbb",
        "aaaaaa was deleted: its code is retired and must be drawn again, or an old short URL \
         would lead somewhere new"
    );
    assert_eq!(
        store.get("aaaaaa").await,
        Ok(None),
        "a deleted code is unknown"
    );
}

pub async fn delete_answers_whether_there_was_a_live_link<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa"])).await;
    create(&store, [url(1)]).await;
    assert_eq!(
        store.delete("zzzzzz").await,
        Ok(false),
        "an unknown code: nothing to delete"
    );
    assert_eq!(
        store.delete("aaaaaa").await,
        Ok(true),
        "a live link is deleted"
    );
    assert_eq!(
        store.delete("aaaaaa").await,
        Ok(false),
        "a second delete finds nothing"
    );
}

pub async fn a_batch_is_all_or_nothing<B: Backend>(backend: &mut B) {
    // The first link takes aaaaaa; the batch's first URL gets bbbbbb, its second can only draw
    // aaaaaa again, forever: the batch must fail, and bbbbbb must not stay behind.
    let store = backend
        .open(Box::new(ThenStuck::new(&["aaaaaa", "bbbbbb"], "aaaaaa")))
        .await;
    create(&store, [url(1)]).await;
    let failed = store.create(vec![url(2), url(3)]).await;
    assert!(
        matches!(failed, Err(StoreError::NoFreeCode { .. })),
        "a batch whose second URL finds no free code must fail with NoFreeCode, not {failed:?}"
    );
    assert_eq!(
        store.get("bbbbbb").await,
        Ok(None),
        "the failed batch's first link was stored"
    );
    assert_eq!(
        ids(&all(&store).await),
        [1],
        "only the link before the batch is stored"
    );
}

pub async fn an_empty_batch_creates_nothing<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&[])).await;
    assert_eq!(store.create(Vec::new()).await, Ok(Vec::new()));
    assert_eq!(all(&store).await, [], "no link");
}

pub async fn clicks_follow_the_rules_of_lesson_11<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa", "bbbbbb"])).await;
    create(&store, [url(1), url(2)]).await;
    let answers = store
        .add_clicks(vec![
            click("aaaaaa", 3),
            click("aaaaaa", 0),
            click("aaaaaa", -1),
            click("zzzzzz", 5),
            click("zzzzzz", 0),
            click("aaaaaa", i64::MAX),
            click("bbbbbb", i64::MAX),
            click("bbbbbb", 1),
            click("bbbbbb", 0),
        ])
        .await
        .expect("add_clicks");
    assert_eq!(
        answers,
        [
            answer("aaaaaa", 3, true),
            answer("aaaaaa", 3, true),  // 0: acknowledged, nothing changes
            answer("aaaaaa", 3, false), // negative: refused, the current total
            answer("zzzzzz", 0, false), // unknown: refused, total 0
            answer("zzzzzz", 0, false), // unknown, even with 0 clicks
            answer("aaaaaa", 3, false), // past i64::MAX: refused, nothing added
            answer("bbbbbb", i64::MAX, true), // exactly i64::MAX fits
            answer("bbbbbb", i64::MAX, false), // one more overflows
            answer("bbbbbb", i64::MAX, true),
        ],
        "one answer per click, in order, echoing the code"
    );
    let stored = store.get("aaaaaa").await.expect("get").expect("aaaaaa");
    assert_eq!(stored.clicks, 3, "refused clicks must add nothing");
}

pub async fn clicks_in_one_batch_accumulate_in_order<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa", "bbbbbb"])).await;
    create(&store, [url(1), url(2)]).await;
    let answers = store
        .add_clicks(vec![
            click("bbbbbb", 2),
            click("aaaaaa", 1),
            click("bbbbbb", 3),
        ])
        .await
        .expect("add_clicks");
    assert_eq!(
        answers,
        [
            answer("bbbbbb", 2, true),
            answer("aaaaaa", 1, true),
            answer("bbbbbb", 5, true)
        ],
        "each answer is the total after its own click, in the order sent"
    );
}

pub async fn a_deleted_link_takes_no_clicks<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa"])).await;
    create(&store, [url(1)]).await;
    store
        .add_clicks(vec![click("aaaaaa", 4)])
        .await
        .expect("add_clicks");
    store.delete("aaaaaa").await.expect("delete");
    let answers = store
        .add_clicks(vec![click("aaaaaa", 1)])
        .await
        .expect("add_clicks");
    assert_eq!(
        answers,
        [answer("aaaaaa", 0, false)],
        "a deleted code is unknown to clicks"
    );
}

pub async fn pages_follow_ids_and_skip_deleted_links<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa", "bbbbbb"])).await;
    create(&store, (1..=5).map(url)).await;
    store.delete("bbbbbb").await.expect("delete");
    let page = |after, limit| {
        let store = store.clone();
        async move { ids(&store.page(after, limit).await.expect("page")) }
    };
    assert_eq!(
        page(0, 2).await,
        [1, 3],
        "the first page skips the deleted link 2"
    );
    assert_eq!(
        page(3, 2).await,
        [4, 5],
        "the next page starts after the last id seen"
    );
    assert_eq!(
        page(5, 2).await,
        [] as [i64; 0],
        "past the last link: an empty page"
    );
    assert_eq!(
        page(0, 0).await,
        [] as [i64; 0],
        "a limit of 0 gives nothing"
    );
    assert_eq!(
        page(-7, 100).await,
        [1, 3, 4, 5],
        "every live link once, in id order"
    );
}

pub async fn get_sees_every_acknowledged_write<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa"])).await;
    assert_eq!(store.get("aaaaaa").await, Ok(None), "before the create");
    create(&store, [url(1)]).await;
    let read = |store: &B::Store| {
        let store = store.clone();
        async move { store.get("aaaaaa").await.expect("get") }
    };
    assert_eq!(read(&store).await.map(|link| link.clicks), Some(0));
    store
        .add_clicks(vec![click("aaaaaa", 2)])
        .await
        .expect("add_clicks");
    assert_eq!(
        read(&store).await.map(|link| link.clicks),
        Some(2),
        "a read after an acknowledged click must see it (a cache must be updated by the write)"
    );
    store.delete("aaaaaa").await.expect("delete");
    assert_eq!(
        read(&store).await,
        None,
        "a read after an acknowledged delete must not find it"
    );
}

pub async fn concurrent_clicks_lose_nothing<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa"])).await;
    create(&store, [url(1)]).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    store
                        .add_clicks(vec![click("aaaaaa", 1), click("aaaaaa", 1)])
                        .await
                        .expect("add_clicks");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a clicking task panicked");
    }
    let total = store
        .get("aaaaaa")
        .await
        .expect("get")
        .expect("aaaaaa")
        .clicks;
    assert_eq!(
        total, 400,
        "8 tasks × 25 batches × 2 clicks: no click may be lost"
    );
}

pub async fn concurrent_creates_get_distinct_codes_and_ids<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&[])).await;
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for n in 0..20 {
                    mine.extend(create(&store, [url(task * 100 + n)]).await);
                }
                mine
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        let mine = task.await.expect("a creating task panicked");
        assert!(
            mine.windows(2).all(|pair| pair[0].id < pair[1].id),
            "one caller's links must get increasing ids: {:?}",
            ids(&mine)
        );
        created.extend(mine);
    }
    let codes: HashSet<&str> = created
        .iter()
        .map(|link| link.short_code.as_str())
        .collect();
    assert_eq!(codes.len(), 160, "160 links need 160 distinct codes");
    created.sort_by_key(|link| link.id);
    assert_eq!(
        all(&store).await,
        created,
        "the store lists every created link once, in id order"
    );
}

/// NEW(lesson 19): the rules of a create under an idempotency key.
pub async fn a_repeated_idempotency_key_returns_the_first_link<B: Backend>(backend: &mut B) {
    let store = backend.open(planned(&["aaaaaa", "bbbbbb", "cccccc"])).await;
    let keyed = |key: &str, url: String| {
        let store = store.clone();
        let key = key.to_string();
        async move {
            store
                .create_with_key(key.clone(), url)
                .await
                .unwrap_or_else(|error| {
                    panic!(
                        "create_with_key({key:?}): {error}. A key already used is never an \
                         error: the answer is its link (or `OtherUrl`, `Deleted`)"
                    )
                })
        }
    };
    let Keyed::Created(first) = keyed("k1", url(1)).await else {
        panic!("a new key must create a link");
    };
    assert_eq!(
        keyed("k1", url(1)).await,
        Keyed::Replayed(first.clone()),
        "a repeated key must return the first link, not create another"
    );
    assert_eq!(
        keyed("k1", url(2)).await,
        Keyed::OtherUrl,
        "the key was used for another URL"
    );
    let Keyed::Created(second) = keyed("k2", url(2)).await else {
        panic!("another key creates another link");
    };
    assert_eq!(
        ids(&all(&store).await),
        [first.id, second.id],
        "two keys, two links: the replays created nothing (on PostgreSQL a replay may still use \
         up an id of the sequence: ids have gaps, never duplicates)"
    );
    store
        .add_clicks(vec![click(&first.short_code, 2)])
        .await
        .expect("add_clicks");
    let Keyed::Replayed(now) = keyed("k1", url(1)).await else {
        panic!("still the first link");
    };
    assert_eq!(now.clicks, 2, "a replay returns the link as it is now");
    store.delete(&first.short_code).await.expect("delete");
    assert_eq!(
        keyed("k1", url(1)).await,
        Keyed::Deleted,
        "the key's link was deleted: no second link for the same key"
    );
    assert_eq!(ids(&all(&store).await), [second.id]);
}
