//! Your tests of the link shortener: lesson 14's exercise.
//!
//! `cargo quiz check 14` runs this file against the real service, where every test must pass,
//! and then against broken versions of it, where at least one test must fail each time. The
//! fixtures (`TestServer`, `in_memory`, `within`) are in `tests/support/mod.rs`.
//!
//! TODO(lesson 14): write every test below in place of its `todo`, adding the `use` lines you
//! need. Keep the names, or rename a test to say its rule better; add more if you like.

mod support;

// ---- Exercise 1: calling the handlers directly ---------------------------------------------

#[tokio::test]
async fn a_deleted_code_is_never_handed_out_again() {
    // TODO(lesson 14): a server that plans the same code twice (`LinkServer::with_codes`):
    // create, delete, create again, and check the second link did not get the old code.
    todo!("a deleted code is never handed out again")
}

#[tokio::test]
async fn list_links_ends_with_deadline_exceeded_when_the_deadline_passes() {
    // TODO(lesson 14): paused time; a ListLinks request with a `grpc-timeout`, more links than
    // the channel holds, and nobody reading until the deadline has passed.
    todo!("ListLinks carries its deadline")
}

// ---- Exercise 2: black-box, over the network or an in-memory pipe --------------------------

#[tokio::test]
async fn a_created_link_can_be_read_back() {
    // TODO(lesson 14): a `TestServer`, CreateLink then GetLink.
    todo!("a created link can be read back")
}

#[tokio::test]
async fn an_unknown_code_is_not_found() {
    // TODO(lesson 14): GetLink and DeleteLink of a code nobody created: which code?
    todo!("an unknown code is NOT_FOUND")
}

#[tokio::test]
async fn a_bad_url_is_invalid_argument_naming_the_field() {
    // TODO(lesson 14): the code, and the field of the `google.rpc.BadRequest` details.
    todo!("a bad URL is INVALID_ARGUMENT with a field violation")
}

#[tokio::test]
async fn list_links_streams_links_in_creation_order() {
    // TODO(lesson 14): create several links, read the whole stream, compare the ids.
    todo!("ListLinks streams in creation order")
}

#[tokio::test]
async fn a_batch_with_a_bad_url_stores_nothing() {
    // TODO(lesson 14): good URLs before a bad one in one batch; then what does ListLinks show?
    todo!("a failed batch stores nothing")
}

#[tokio::test]
async fn negative_clicks_are_not_acknowledged() {
    // TODO(lesson 14): SyncClicks with a positive count, then a negative one, on one stream.
    todo!("negative clicks are refused")
}

#[tokio::test]
async fn a_call_needs_the_right_api_key() {
    // TODO(lesson 14): a server with a key; no key, a wrong key, the right key.
    todo!("the API key is checked")
}

// ---- Exercise 3: the client against fake servers -------------------------------------------

#[tokio::test]
async fn the_client_gives_up_on_a_server_that_hangs() {
    // TODO(lesson 14): a fake `LinkService` that never answers, and the client's `connect` with
    // a short timeout.
    todo!("the client's deadline ends a call to a hung server")
}

#[tokio::test]
async fn the_client_passes_unavailable_on() {
    // TODO(lesson 14): a fake that fails every call with UNAVAILABLE.
    todo!("the client reports UNAVAILABLE")
}

// ---- Exercise 4: properties ----------------------------------------------------------------

#[test]
fn urls_and_short_codes_keep_their_rules() {
    // TODO(lesson 14): replace this test with a `proptest!` block: URL validation over generated
    // URLs, and the shape of `short_code()`.
    todo!("property tests")
}
