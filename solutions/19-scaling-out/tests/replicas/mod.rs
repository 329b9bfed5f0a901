//! NEW(lesson 19): what the client tests share: fake replicas, and a relay that fails the way
//! networks fail. The client is tested against fakes because the rules are the client's own:
//! a test must make a replica die mid-call, lose an answer after the work, or fall silent, at
//! the moment it chooses.

#![allow(dead_code)] // each test binary uses part of it

pub mod relay;
pub mod replica;
