//! One module per `custodia` subcommand: each owns its clap `Args` and a `run` function.

pub mod audit;
pub mod bench;
pub mod client_args;
pub mod console;
pub mod demo;
pub mod devnet;
pub mod genesis;
pub mod init;
pub mod keys;
pub mod node;
pub mod org;
pub mod output;
pub mod record;
pub mod request;
pub mod status;
