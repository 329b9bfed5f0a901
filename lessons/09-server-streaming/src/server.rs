//! The `LinkService` implementation: the state it keeps, and one method per RPC.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::Rng;
use tonic::{Request, Response, Status};

use crate::pb::link_service_server::LinkService;
use crate::pb::{
    CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest, DeleteLinkResponse, GetLinkRequest,
    GetLinkResponse, Link,
};

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
    /// Codes to try before random ones. Empty, except in tests (`LinkServer::with_codes`).
    planned: VecDeque<String>,
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
        self.planned.pop_front().unwrap_or_else(short_code)
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
        let server = LinkServer::default();
        server.links().planned.extend(codes);
        server
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
        request: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        let url = request.into_inner().url;
        let link = self.links().insert(self.next_id(), url);
        Ok(Response::new(CreateLinkResponse { link: Some(link) }))
    }

    async fn get_link(
        &self,
        request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        let code = request.into_inner().short_code;
        match self.links().by_code.get(&code) {
            Some(link) => Ok(Response::new(GetLinkResponse {
                link: Some(link.clone()),
            })),
            None => Err(not_found(&code)),
        }
    }

    async fn delete_link(
        &self,
        request: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        let code = request.into_inner().short_code;
        let mut links = self.links();
        if links.by_code.remove(&code).is_none() {
            return Err(not_found(&code));
        }
        links.retired.insert(code);
        Ok(Response::new(DeleteLinkResponse {}))
    }

    // TODO(lesson 09): once proto/link.proto has ListLinks, the trait asks for it here: a
    // `type ListLinksStream` and `async fn list_links`. The lesson shows the handler: copy the
    // links out, sort them, and return the receiving end of a bounded channel that a spawned
    // task feeds. Exercise 1 is that task's loop: send every link in order, and as soon as a send
    // fails (the client went away), say so on stderr and stop.
}

fn not_found(code: &str) -> Status {
    Status::not_found(format!("no link has the short code {code:?}"))
}

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
