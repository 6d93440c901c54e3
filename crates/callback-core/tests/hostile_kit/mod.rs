//! The parts of the hostile-server suite: the servers, the answers they send, and the child
//! process that runs the client and reports its peak memory.
#![allow(dead_code)]

pub mod bodies;
pub mod child;
pub mod server;
