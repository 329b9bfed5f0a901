//! The `LinkService` implementation: the state it keeps, and one method per RPC.

// NEW(lesson 07): given, the worked example: everything down to `create_link`, except the
// places of your exercises. Read it with the README's "Learn" sections.
// TODO(lesson 07): Exercise 2 needs one more collection from std::collections.
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

// NEW(lesson 07): given: rand's trait, for `random_range` in short_code().
use rand::Rng;
use tonic::{Request, Response, Status};

use crate::pb::link_service_server::LinkService;
use crate::pb::{
    CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest, DeleteLinkResponse, GetLinkRequest,
    GetLinkResponse, Link,
}; // NEW(lesson 07): Link, the message the server stores, is new in this list.

// NEW(lesson 07): given: the random short codes.
/// The characters a short code is made of.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// How long a short code is: 36^6, about 2.2 billion codes.
const CODE_LEN: usize = 6;

/// Returns a random short code: six characters of `[a-z0-9]`.
pub fn short_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

// NEW(lesson 07): given: the server's state.
/// The shortener service. Cloning it is cheap: every clone shares the same links.
#[derive(Debug, Default, Clone)]
pub struct LinkServer {
    state: Arc<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The id of the last link created; the next one gets `last_id + 1`.
    last_id: AtomicI64,
    links: Mutex<Links>,
}

#[derive(Debug, Default)]
struct Links {
    /// The live links, by short code.
    by_code: HashMap<String, Link>,
    /// Codes of deleted links: never handed out again, so an old short URL can't
    /// start pointing somewhere new.
    retired: HashSet<String>,
    // TODO(lesson 07): Exercise 2: a queue of planned codes, the ones `LinkServer::with_codes`
    // is given, to try before random ones.
}

impl Links {
    /// A short code that no link has ever had. A random collision is retried, never overwritten.
    fn unused_code(&mut self) -> String {
        loop {
            let code = self.draw();
            if !self.by_code.contains_key(&code) && !self.retired.contains(&code) {
                return code;
            }
        }
    }

    /// The next code to try: the codes planned by `LinkServer::with_codes` first, in order,
    /// then random ones.
    fn draw(&mut self) -> String {
        // TODO(lesson 07): Exercise 2: hand out the planned codes first, in order; a random
        // one only when none is left.
        short_code()
    }

    /// Stores a new link for `url` and returns a copy of it.
    fn insert(&mut self, id: i64, url: String) -> Link {
        let link = Link {
            id,
            url,
            short_code: self.unused_code(),
            clicks: 0,
        };
        self.by_code.insert(link.short_code.clone(), link.clone());
        link
    }
}

impl LinkServer {
    /// A server that tries `codes`, in order, before any random ones: tests use it to make
    /// two links draw the same code.
    pub fn with_codes(codes: impl IntoIterator<Item = String>) -> LinkServer {
        // TODO(lesson 07): Exercise 2: a new, empty server whose planned codes are `codes`.
        let _ = codes;
        todo!("Exercise 2: LinkServer::with_codes")
    }

    fn links(&self) -> MutexGuard<'_, Links> {
        // A poisoned lock means a thread panicked while holding it; the map itself is still
        // whole (every update is a single insert or remove), so keep serving.
        self.state
            .links
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn next_id(&self) -> i64 {
        self.state.last_id.fetch_add(1, Ordering::Relaxed) + 1
    }
}

#[tonic::async_trait]
impl LinkService for LinkServer {
    async fn create_link(
        &self,
        request: Request<CreateLinkRequest>, // NEW(lesson 07): given, the worked example.
    ) -> Result<Response<CreateLinkResponse>, Status> {
        // NEW(lesson 07): given: CreateLink, whole.
        let url = request.into_inner().url;
        let link = self.links().insert(self.next_id(), url);
        Ok(Response::new(CreateLinkResponse { link: Some(link) }))
    }

    async fn get_link(
        &self,
        _request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        // TODO(lesson 07): Exercise 1: answer with the link that has the request's short code,
        // or with NOT_FOUND if no link has it.
        Err(Status::unimplemented("GetLink is built in lesson 07"))
    }

    async fn delete_link(
        &self,
        _request: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        // TODO(lesson 07): Exercise 3: remove the link that has the request's short code and
        // retire the code, or answer NOT_FOUND if no link has it.
        Err(Status::unimplemented("DeleteLink is built in lesson 07"))
    }
}

// NEW(lesson 07): given: a unit test of short_code().
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes_are_six_lowercase_letters_or_digits() {
        for _ in 0..1_000 {
            let code = short_code();
            assert_eq!(code.len(), CODE_LEN, "{code:?}");
            assert!(
                code.bytes().all(|b| ALPHABET.contains(&b)),
                "{code:?} has a character outside [a-z0-9]"
            );
        }
    }
}
